using System.CommandLine;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Swci;

/// <summary>
/// `swarm swci script FILE`: runs a file of swci commands in order, in HPE's SWCI language or ours (<see cref="ScriptLine"/>).
/// A failed command stops the script unless EXIT ON FAILURE is OFF (HPE's default is OFF; ours is ON, so a failure
/// is never passed over unless the script asks for it); then the script goes on and says so.
/// </summary>
internal sealed class SwciScript(Command swci, string path)
{
    private bool _exitOnFailure = true;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            await Console.Error.WriteLineAsync($"error: {path} does not exist");
            return 2;
        }
        int number = 0;
        foreach (string raw in await File.ReadAllLinesAsync(path, cancellationToken))
        {
            number++;
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            Console.WriteLine($"> {line}");
            var step = ScriptLine.Parse(line);
            if (step is ExitScript)
            {
                return 0;
            }
            int code = await CommandRun.Guarded(() => RunAsync(step, cancellationToken));
            if (code == 0)
            {
                continue;
            }
            if (_exitOnFailure)
            {
                await Console.Error.WriteLineAsync($"error: {path}:{number} failed (exit {code}); the lines after it were not run");
                return code;
            }
            await Console.Error.WriteLineAsync($"{path}:{number} failed (exit {code}); going on, as EXIT ON FAILURE is OFF");
        }
        return 0;
    }

    private async Task<int> RunAsync(ScriptStep step, CancellationToken cancellationToken)
    {
        switch (step)
        {
            case RunSwci run:
                return await swci.Parse([.. run.Arguments]).InvokeAsync(cancellationToken: cancellationToken);
            case CreateContext create:
                return await swci.Parse([.. ContextArguments(create)]).InvokeAsync(cancellationToken: cancellationToken);
            case DeclareContract declare:
                await DeclareAsync(declare.Name, cancellationToken);
                return 0;
            case WaitForSn wait:
                await SwciCommands.WaitForSnAsync(wait.Address, wait.Limit, cancellationToken);
                return 0;
            case SetExitOnFailure mode:
                _exitOnFailure = mode.On;
                return 0;
            case Sleep sleep:
                await Task.Delay(sleep.Duration, cancellationToken);
                return 0;
            case ChangeDirectory cd:
                Directory.SetCurrentDirectory(Directory.Exists(cd.Path) ? cd.Path : throw new SwarmException($"cd {cd.Path}: no such folder"));
                return 0;
            case Show show:
                Console.WriteLine(show.What switch
                {
                    "pwd" => Directory.GetCurrentDirectory(),
                    "ls" => string.Join(Environment.NewLine, Directory.EnumerateFileSystemEntries(".").Select(Path.GetFileName).Order(StringComparer.Ordinal)),
                    "version" => $"swarm {SwarmExecutable.Version}",
                    _ => $"HPE SWCI commands: CREATE CONTEXT, SWITCH CONTEXT, LIST CONTEXTS, CREATE CONTRACT, LIST CONTRACTS, GET CONTRACT INFO|STATUS, " +
                        $"RESET CONTRACT, PERFDATA, LIST NODES, WAIT FOR IP|SERVICE, SLEEP, EXIT [ON FAILURE [ON|OFF]], cd, pwd(), ls(); ours: `swarm swci --help`",
                });
                return 0;
            case Refused refused:
                throw new SwarmException(refused.Message);
            default:
                throw new InvalidOperationException($"unhandled script step {step}");
        }
    }

    /// <summary>
    /// CREATE CONTEXT as `context create`: with a join token (SWARM_JOIN_TOKEN) the context gets its own identity;
    /// without one it keeps the identity it has, or acts with the current context's (the operator's one identity).
    /// </summary>
    private static IEnumerable<string> ContextArguments(CreateContext create)
    {
        string[] arguments = ["context", "create", create.Name, "--sn", create.Sn];
        string? token = Environment.GetEnvironmentVariable(JoinTokenInput.Variable);
        bool hasOwn = SwciContext.All().Contains(create.Name, StringComparer.Ordinal) && SwciContext.Load(create.Name).HasIdentity;
        if (hasOwn)
        {
            Environment.SetEnvironmentVariable(JoinTokenInput.Variable, null); // its identity is on disk: a token (spent, on a re-run) is not needed
        }
        if (string.IsNullOrWhiteSpace(token) && !hasOwn && SwciContext.TryCurrent() is { HasIdentity: true } current && current.Name != create.Name)
        {
            return [.. arguments, "--identity-of", current.IdentityOf ?? current.Name];
        }
        return arguments;
    }

    private static async Task DeclareAsync(string name, CancellationToken cancellationToken)
    {
        using var session = SwciContext.Current().Open();
        var contract = await session.Ledger.GetContractAsync(name, cancellationToken);
        Console.WriteLine(contract is not null
            ? $"contract {name} exists ({contract.Status}, round {contract.Round.Number})"
            : $"contract {name}: created when its first node registers (that node's minPeers, syncFrequency and merge method become the contract's); " +
              $"to fix them first: swarm swci contract create {name} --min-peers N --sync-frequency M");
    }
}
