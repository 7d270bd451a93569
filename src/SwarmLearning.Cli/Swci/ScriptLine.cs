using System.CommandLine.Parsing;
using System.Globalization;

namespace SwarmLearning.Cli.Swci;

/// <summary>What one line of a swci script asks for.</summary>
internal abstract record ScriptStep;

/// <summary>One of our `swarm swci` commands, with its arguments.</summary>
internal sealed record RunSwci(IReadOnlyList<string> Arguments) : ScriptStep;

/// <summary>HPE's CREATE CONTEXT: a context on an SN, with a join token or the identity the operator already has.</summary>
internal sealed record CreateContext(string Name, string Sn) : ScriptStep;

/// <summary>HPE's CREATE CONTRACT: here a contract is created by its first node (its parameters become the contract's).</summary>
internal sealed record DeclareContract(string Name) : ScriptStep;

/// <summary>HPE's WAIT FOR IP / WAIT FOR SERVICE.</summary>
internal sealed record WaitForSn(string Address, TimeSpan Limit) : ScriptStep;

internal sealed record ExitScript : ScriptStep;

internal sealed record SetExitOnFailure(bool On) : ScriptStep;

internal sealed record Sleep(TimeSpan Duration) : ScriptStep;

internal sealed record ChangeDirectory(string Path) : ScriptStep;

/// <summary>pwd(), ls(), HELP, GET CONTEXT VERSION: something to print.</summary>
internal sealed record Show(string What) : ScriptStep;

/// <summary>A command this project does not have (SWOP's task commands, for one), with what to do instead.</summary>
internal sealed record Refused(string Message) : ScriptStep;

/// <summary>
/// Reads one line of a swci script: HPE's SWCI language (keywords in any case: CREATE CONTEXT … WITH IP …, SWITCH
/// CONTEXT, LIST CONTRACTS, WAIT FOR IP, EXIT ON FAILURE, …) or ours (`contract create …`, as after `swarm swci`).
/// Pure: the runner (<see cref="SwciScript"/>) acts on the step. docs/hpe-compatibility.md lists the commands.
/// </summary>
internal static class ScriptLine
{
    /// <summary>Our swci commands, which a line of our own syntax starts with.</summary>
    public static readonly string[] OwnCommands = ["context", "contract", "perfdata", "nodes", "wait-for"];

    public const int DefaultSnApiPort = 30304;

    /// <summary>HPE's WAIT FOR IP default: 360 retries, 5 s apart.</summary>
    private const int DefaultRetries = 360;

    private const string NoSwop = "is a SWOP task command; this swarm has no SWOP (task runners, container images): start each site's node with " +
        "`swarm run-sl --ml-cmd ...` or its kit's start.sh (docs/hpe-compatibility.md)";

    public static ScriptStep Parse(string line)
    {
        string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        string Word(int i) => i < words.Length ? words[i].ToUpperInvariant() : "";
        string Phrase(int count) => string.Join(' ', words.Take(count).Select(w => w.ToUpperInvariant()));
        bool Has(int count) => words.Length == count;

        if (OwnCommands.Contains(words[0], StringComparer.Ordinal))
        {
            return new RunSwci([.. CommandLineParser.SplitCommandLine(line)]);
        }
        switch (Word(0))
        {
            case "EXIT" when Has(1):
                return new ExitScript();
            case "EXIT" when Phrase(3) == "EXIT ON FAILURE" && words.Length <= 4:
                return Word(3) is "" or "ON" ? new SetExitOnFailure(true)
                    : Word(3) == "OFF" ? new SetExitOnFailure(false) : Usage(line, "EXIT ON FAILURE [ON|OFF]");
            case "SLEEP" when Has(2):
                return int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) ? new Sleep(TimeSpan.FromSeconds(seconds)) : Usage(line, "SLEEP <seconds>");
            case "CD" when Has(2):
                return new ChangeDirectory(words[1]);
            case "PWD()" or "PWD" when Has(1):
                return new Show("pwd");
            case "LS()" or "LS" when Has(1):
                return new Show("ls");
            case "HELP":
                return new Show("help");
            case "PERFDATA" when Has(2):
                return new RunSwci(["perfdata", words[1]]);
        }
        if (Word(1).StartsWith("TASK", StringComparison.Ordinal) || Phrase(3) == "WAIT FOR TASKRUNNER")
        {
            return new Refused($"'{Phrase(Word(1) == "TASK" || Word(1) == "TASKRUNNER" ? 2 : 3)}' {NoSwop}");
        }
        return Phrase(2) switch
        {
            "CREATE CONTEXT" when words.Length is 6 or 7 && Word(3) == "WITH" && Word(4) == "IP" => new CreateContext(words[2], Address(words[5], words.Length == 7 ? words[6] : null)),
            "CREATE CONTEXT" when Has(6) && Word(3) == "WITH" && Word(4) == "SERVICE" => new CreateContext(words[2], Address(words[5], null)),
            "CREATE CONTEXT" => Usage(line, "CREATE CONTEXT <name> WITH IP <ip> [port] | CREATE CONTEXT <name> WITH SERVICE <host[:port]>"),
            "SWITCH CONTEXT" when Has(3) => new RunSwci(["context", "use", words[2]]),
            "LIST CONTEXTS" when Has(2) => new RunSwci(["context", "list"]),
            "GET CONTEXT" when Phrase(3) == "GET CONTEXT VERSION" => new Show("version"),
            "GET CONTEXT" when Phrase(3) == "GET CONTEXT INFO" => new RunSwci(["context", "list"]),
            "GET CONTEXT" or "SET CONTEXT" or "LIST CONTEXT" => new Refused($"'{Phrase(3)}': context environment variables are SWOP's; this swarm has none " +
                "(a node's settings are its flags, config file or SL_* variables: docs/hpe-compatibility.md)"),
            "CREATE CONTRACT" when Has(3) => new DeclareContract(words[2]),
            "LIST CONTRACTS" when Has(2) => new RunSwci(["contract", "list"]),
            "GET CONTRACT" when Has(4) && Word(2) is "INFO" or "STATUS" => new RunSwci(["contract", "status", words[3]]),
            "RESET CONTRACT" when Has(3) => new RunSwci(["contract", "reset", words[2]]),
            "LIST NODES" when Has(2) => new RunSwci(["nodes"]),
            "WAIT FOR" when Word(2) == "IP" && words.Length is >= 4 and <= 6 => Wait(line, Address(words[3], words.Length >= 5 ? words[4] : null), words.Length == 6 ? words[5] : null),
            "WAIT FOR" when Word(2) == "SERVICE" && words.Length is 4 or 5 => Wait(line, Address(words[3], null), words.Length == 5 ? words[4] : null),
            _ => new Refused($"unknown command '{line}': a swci script holds HPE's SWCI commands (CREATE CONTEXT, SWITCH CONTEXT, LIST CONTRACTS, " +
                $"WAIT FOR IP, EXIT, ...) or ours ({string.Join(", ", OwnCommands)}: `swarm swci --help`)"),
        };
    }

    private static ScriptStep Wait(string line, string address, string? retries) =>
        retries is null ? new WaitForSn(address, TimeSpan.FromSeconds(5 * DefaultRetries))
        : int.TryParse(retries, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0 ? new WaitForSn(address, TimeSpan.FromSeconds(5 * count))
        : Usage(line, "WAIT FOR IP <ip> [port] [retries]");

    /// <summary>host:port from HPE's separate ip and port (the SN API's default port when none is given).</summary>
    private static string Address(string host, string? port) =>
        port is not null ? $"{host}:{port}" : host.Contains(':', StringComparison.Ordinal) ? host : $"{host}:{DefaultSnApiPort}";

    private static Refused Usage(string line, string usage) => new($"'{line}': expected {usage}");
}
