using System.CommandLine;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Tests;

/// <summary>HPE's SL_* variables as aliases of our options (below flags and config files), and run-sl's --ml-e.</summary>
public sealed class HpeEnvironmentTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hpe-env-").FullName;
    private readonly RootCommand _root = new() { Node.SlCommand.Create(), Network.SnCommand.Create() };

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Hpe_variables_set_the_options_they_alias()
    {
        var environment = Environment(("SL_MAKE_ME_ADMIN", "False"), ("SL_LEADER_FAILURE_BASE_TIMEOUT", "900"), ("SL_WAIT_FOR_FULL_QUORUM_SECONDS", "5"),
            ("SL_FS_PORT", "16000"), ("SN_NODE_IP", "10.0.0.2"), ("SN_API_SERVER_PORT", "31004"), ("THIS_NODE_IP", "10.0.0.7"));
        var parse = _root.Parse(HpeEnvironment.Apply(_root, ["run-sl", "--name", "n1"], environment));

        Assert.Empty(parse.Errors);
        Assert.True(parse.GetValue<bool>("--no-lead"));
        Assert.Equal("900s", parse.GetValue<string>("--leader-timeout"));
        Assert.Equal("5s", parse.GetValue<string>("--wait-window"));
        Assert.Equal(16000, parse.GetValue<int>("--sl-fs-port"));
        Assert.Equal("10.0.0.2", parse.GetValue<string>("--sn-ip"));
        Assert.Equal(31004, parse.GetValue<int>("--sn-api-port"));
        Assert.Equal("10.0.0.7", parse.GetValue<string>("--host"));
    }

    [Fact]
    public void A_flag_or_a_config_setting_wins_over_the_variable()
    {
        string config = Path.Combine(_folder, "sl.yaml");
        File.WriteAllText(config, "name: n1\nwait-window: 2s\n");
        var environment = Environment(("SL_WAIT_FOR_FULL_QUORUM_SECONDS", "60"), ("SL_LEADER_FAILURE_BASE_TIMEOUT", "900"), ("SL_MAKE_ME_ADMIN", "True"));
        string[] args = ConfigFile.Apply(_root, ["run-sl", "--config", config, "--leader-timeout", "30s"]);
        var parse = _root.Parse(HpeEnvironment.Apply(_root, args, environment));

        Assert.Equal("2s", parse.GetValue<string>("--wait-window"));
        Assert.Equal("30s", parse.GetValue<string>("--leader-timeout"));
        Assert.False(parse.GetValue<bool>("--no-lead"));
    }

    [Fact]
    public void The_sentinel_variable_applies_to_run_sn_only()
    {
        var environment = Environment(("SN_I_AM_SENTINEL", "true"));
        Assert.True(_root.Parse(HpeEnvironment.Apply(_root, ["run-sn", "--name", "sn1"], environment)).GetValue<bool>("--sentinel"));
        Assert.Equal(["run-sl", "--name", "n1"], HpeEnvironment.Apply(_root, ["run-sl", "--name", "n1"], environment));
    }

    [Theory]
    [InlineData("SL_MAKE_ME_ADMIN", "no", "expected True or False")]
    [InlineData("SL_LEADER_FAILURE_BASE_TIMEOUT", "10m", "whole number of seconds")]
    [InlineData("SL_WAIT_FOR_FULL_QUORUM_SECONDS", "-1", "whole number of seconds")]
    [InlineData("SL_FS_PORT", "70000", "port number")]
    public void A_bad_value_is_refused_with_the_variable_named(string variable, string value, string expected)
    {
        var error = Assert.Throws<SwarmException>(() => HpeEnvironment.Apply(_root, ["run-sl", "--name", "n1"], Environment((variable, value))));
        Assert.StartsWith($"{variable}={value}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ml_e_settings_are_name_value_pairs_and_may_not_set_the_nodes_own_variables()
    {
        Assert.Equal([("MAX_EPOCHS", "5"), ("DATA_DIR", "/data/a=b"), ("EMPTY", "")], Node.MlEnvironment.Parse(["MAX_EPOCHS=5", "DATA_DIR=/data/a=b", "EMPTY="]).ToList());
        Assert.Contains("expected NAME=VALUE", Assert.Throws<SwarmException>(() => Node.MlEnvironment.Parse(["MAX_EPOCHS"]).ToList()).Message, StringComparison.Ordinal);
        Assert.Contains("expected NAME=VALUE", Assert.Throws<SwarmException>(() => Node.MlEnvironment.Parse(["1X=2"]).ToList()).Message, StringComparison.Ordinal);
        Assert.Contains("the node sets SWARM_ML_ENDPOINT itself", Assert.Throws<SwarmException>(() => Node.MlEnvironment.Parse(["SWARM_ML_ENDPOINT=unix:/x"]).ToList()).Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
