using System.CommandLine;
using SwarmLearning.Core;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Cli;

/// <summary>
/// `--config FILE` on the commands that run a component: its settings in a YAML mapping, one key per option (the
/// option's name without the dashes: `sn-ip: 10.0.0.2`, `sentinel: true`, a list for a repeatable option). A flag on
/// the command line wins over the file. Relative paths in the file are relative to the file's folder, so a site kit
/// works wherever it is copied. The file becomes command-line tokens, so it is checked exactly as flags are.
/// </summary>
internal static class ConfigFile
{
    private const string Name = "--config";

    /// <summary>Options whose values are paths, resolved against the config file's folder.</summary>
    private static readonly HashSet<string> PathSettings =
        ["data-dir", "join-token-file", "cert", "key", "capath", "trusted-issuer", "model-dir", "ml-dir", "scratch-dir", "ml-data-dir"];

    public static Option<string?> Option() => new(Name)
    {
        Description = "read settings from this YAML file (keys are option names without --); flags on the command line win",
    };

    /// <summary>
    /// <paramref name="args"/> with the settings of the config file it names appended (those not given as flags), or
    /// unchanged when the command has no --config. Throws <see cref="SwarmException"/> on a bad file or an unknown key.
    /// </summary>
    public static string[] Apply(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        var command = parse.CommandResult.Command;
        if (command.Options.FirstOrDefault(o => o.Name == Name) is not Option<string?> config || parse.GetValue(config) is not { } path)
        {
            return args;
        }
        var added = new List<string>();
        foreach (var (key, value, line) in Read(path))
        {
            string where = $"{path} line {line}";
            var option = command.Options.FirstOrDefault(o => o.Name == "--" + key && o.Name != Name)
                ?? throw new SwarmException($"{where}: '{key}' is not a setting of `swarm {command.Name}`; its settings are {string.Join(", ", Settings(command))}");
            if (parse.GetResult(option) is { Implicit: false })
            {
                continue; // the command line wins
            }
            added.AddRange(Tokens(option, key, value, Path.GetDirectoryName(Path.GetFullPath(path))!, where));
        }
        return [.. args, .. added];
    }

    private static IEnumerable<string> Tokens(Option option, string key, YamlNode value, string folder, string where)
    {
        if (value is YamlSequenceNode list)
        {
            if (!option.ValueType.IsArray)
            {
                throw new SwarmException($"{where}: '{key}' takes one value, not a list");
            }
            return list.Children.SelectMany(item => item is YamlScalarNode
                ? Tokens(option, key, item, folder, where)
                : throw new SwarmException($"{where}: '{key}' is a list of values, not of lists or mappings"));
        }
        if (value is not YamlScalarNode { Value: { } text })
        {
            throw new SwarmException($"{where}: '{key}' needs a value (a word, a number, true/false, or a list of them)");
        }
        if (option.ValueType == typeof(bool))
        {
            return bool.TryParse(text, out bool on)
                ? on ? ["--" + key] : []
                : throw new SwarmException($"{where}: '{key}' is true or false, not '{text}'");
        }
        if (PathSettings.Contains(key) && text.Length > 0 && !Path.IsPathRooted(text))
        {
            text = Path.GetFullPath(Path.Combine(folder, text));
        }
        return [$"--{key}={text}"]; // one token: a value starting with @ or - stays a value
    }

    private static IEnumerable<(string Key, YamlNode Value, long Line)> Read(string path)
    {
        var root = YamlFile.Load(path, "config file");
        if (root is null)
        {
            return [];
        }
        if (root is not YamlMappingNode mapping)
        {
            throw new SwarmException($"{path}: a config file is a mapping of settings (`name: value` lines)");
        }
        return mapping.Children.Select(entry => entry.Key is YamlScalarNode { Value: { Length: > 0 } key }
            ? (key, entry.Value, entry.Key.Start.Line)
            : throw new SwarmException($"{path} line {entry.Key.Start.Line}: a setting's name must be a word"));
    }

    private static IEnumerable<string> Settings(Command command) =>
        command.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal) && o.Name != Name && !o.Hidden && o.Name != "--help")
            .Select(o => o.Name[2..]);
}
