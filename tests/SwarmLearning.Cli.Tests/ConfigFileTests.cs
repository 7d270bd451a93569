using System.CommandLine;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Tests;

/// <summary>--config FILE: settings from YAML become flags, the command line wins, mistakes are named with their line.</summary>
public sealed class ConfigFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("config-").FullName;
    private readonly RootCommand _root = new() { Node.SlCommand.Create(), Network.SnCommand.Create() };

    [Fact]
    public void Settings_in_the_file_become_flags_and_the_command_line_wins()
    {
        string file = Write("""
            name: node7
            host: 10.0.0.4
            sn-api-port: 31000
            sn: [10.0.0.2:30304, 10.0.0.3:30304]
            no-lead: true
            data-dir: state/node7
            join-token-file: secrets/node7.token
            ml-cmd: "@train --quick"
            """);
        var parse = _root.Parse(ConfigFile.Apply(_root, ["run-sl", "--config", file, "--host", "10.0.0.9"]));

        Assert.Empty(parse.Errors);
        Assert.Equal("node7", parse.GetValue<string>("--name"));
        Assert.Equal("10.0.0.9", parse.GetValue<string>("--host")); // the flag, not the file
        Assert.Equal(31000, parse.GetValue<int>("--sn-api-port"));
        Assert.Equal(["10.0.0.2:30304", "10.0.0.3:30304"], parse.GetValue<string[]>("--sn")!);
        Assert.True(parse.GetValue<bool>("--no-lead"));
        Assert.Equal(Path.Combine(_folder, "state", "node7"), parse.GetValue<string?>("--data-dir")); // relative to the file's folder
        Assert.Equal(Path.Combine(_folder, "secrets", "node7.token"), parse.GetValue<string?>("--join-token-file"));
        Assert.Equal("@train --quick", parse.GetValue<string?>("--ml-cmd")); // a value, never a response file or a flag
    }

    [Fact]
    public void Without_config_the_arguments_are_unchanged()
    {
        string[] arguments = ["run-sn", "--name", "sn1", "--sentinel"];
        Assert.Same(arguments, ConfigFile.Apply(_root, arguments));
    }

    [Theory]
    [InlineData("name: sn1\nsentinal: true\n", "line 2: 'sentinal' is not a setting of `swarm run-sn`; its settings are name,")]
    [InlineData("name: sn1\nsentinel: maybe\n", "line 2: 'sentinel' is true or false, not 'maybe'")]
    [InlineData("name: [a, b]\n", "line 1: 'name' takes one value, not a list")]
    [InlineData("name: sn1\n  host: x\n", "line 2: not valid YAML")]
    [InlineData("- name\n", "a config file is a mapping of settings")]
    [InlineData("name: sn1\napls: [[a, b]]\n", "line 2: 'apls' is a list of values, not of lists or mappings")]
    public void A_mistake_in_the_file_is_named_with_its_line(string text, string expected)
    {
        string file = Write(text);
        var error = Assert.Throws<SwarmException>(() => ConfigFile.Apply(_root, ["run-sn", "--config", file]));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith(file, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_one_line_error()
    {
        var error = Assert.Throws<SwarmException>(() => ConfigFile.Apply(_root, ["run-sn", "--config", Path.Combine(_folder, "nope.yaml")]));
        Assert.StartsWith("cannot read the config file", error.Message, StringComparison.Ordinal);
    }

    private string Write(string text)
    {
        string path = Path.Combine(_folder, Guid.NewGuid().ToString("N")[..6] + ".yaml");
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
