using System.CommandLine;
using System.Globalization;
using SwarmLearning.Core;

namespace SwarmLearning.Cli;

/// <summary>
/// HPE Swarm Learning's environment variables (SL_MAKE_ME_ADMIN, SL_LEADER_FAILURE_BASE_TIMEOUT, ...) read as
/// aliases of our options, so a site's existing settings carry over. They rank below the command line and a config
/// file: a flag or setting given there wins. A bad value is refused with the variable named, as a bad flag is.
/// docs/hpe-compatibility.md has the table.
/// </summary>
internal static class HpeEnvironment
{
    /// <summary>One alias: <paramref name="Variable"/> sets option --<paramref name="Key"/> of `swarm <paramref name="Command"/>`.</summary>
    public sealed record Alias(string Command, string Variable, string Key, Func<string, string?> ToValue, string Meaning);

    /// <summary>Variables HPE documents that need no counterpart here, with why.</summary>
    public static IReadOnlyDictionary<string, string> WithoutEffect { get; } = new Dictionary<string, string>
    {
        ["SL_RAM_INTENSIVE"] = "merges always stream tensor by tensor here",
        ["SL_MODEL_PARAMS_COMPRESSION_THRESHOLD_MB"] = "compression is chosen by the fetching node (--sl-fs-compress)",
    };

    public static IReadOnlyList<Alias> Aliases { get; } =
    [
        new("run-sl", "SL_MAKE_ME_ADMIN", "no-lead", v => Flag(v, "SL_MAKE_ME_ADMIN") ? null : "true", "False: this node never leads a merge"),
        new("run-sl", "SL_LEADER_FAILURE_BASE_TIMEOUT", "leader-timeout", v => Seconds(v, "SL_LEADER_FAILURE_BASE_TIMEOUT", minimum: 1), "seconds before a silent leader is replaced"),
        new("run-sl", "SL_WAIT_FOR_FULL_QUORUM_SECONDS", "wait-window", v => Seconds(v, "SL_WAIT_FOR_FULL_QUORUM_SECONDS", minimum: 0), "seconds to wait for more peers after minPeers"),
        new("run-sl", "SL_FS_PORT", "sl-fs-port", v => Port(v, "SL_FS_PORT"), "the node's file server port"),
        new("run-sl", "THIS_NODE_IP", "host", v => v, "the address this node listens on"),
        new("run-sl", "SN_NODE_IP", "sn-ip", v => v, "the SN this node uses"),
        new("run-sl", "SN_API_SERVER_PORT", "sn-api-port", v => Port(v, "SN_API_SERVER_PORT"), "that SN's API port"),
        new("run-sn", "SN_I_AM_SENTINEL", "sentinel", v => Flag(v, "SN_I_AM_SENTINEL") ? "true" : null, "True: this SN starts the network"),
    ];

    /// <summary><paramref name="args"/> with the options set by HPE variables appended (those not given otherwise).</summary>
    public static string[] Apply(RootCommand root, string[] args, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var parse = root.Parse(args);
        var command = parse.CommandResult.Command;
        var added = new List<string>();
        foreach (var alias in Aliases.Where(a => a.Command == command.Name))
        {
            if (environment(alias.Variable) is not { Length: > 0 } text
                || command.Options.FirstOrDefault(o => o.Name == "--" + alias.Key) is not { } option
                || parse.GetResult(option) is { Implicit: false })
            {
                continue; // unset, or given on the command line or in the config file: those win
            }
            if (alias.ToValue(text.Trim()) is { } value)
            {
                added.Add(option.ValueType == typeof(bool) ? "--" + alias.Key : $"--{alias.Key}={value}");
            }
        }
        if (command.Name == "run-sl")
        {
            foreach (var (variable, why) in WithoutEffect.Where(v => environment(v.Key) is { Length: > 0 }))
            {
                Console.Error.WriteLine($"note: {variable} has no effect: {why}");
            }
        }
        return [.. args, .. added];
    }

    private static bool Flag(string value, string variable) =>
        bool.TryParse(value, out bool on) ? on : throw new SwarmException($"{variable}={value}: expected True or False");

    private static string Seconds(string value, string variable, int minimum) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) && seconds >= minimum
            ? seconds + "s" : throw new SwarmException($"{variable}={value}: expected a whole number of seconds, at least {minimum}");

    private static string Port(string value, string variable) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536
            ? value : throw new SwarmException($"{variable}={value}: expected a port number (1-65535)");
}
