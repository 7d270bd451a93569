using System.CommandLine;
using System.Diagnostics;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Operations;

/// <summary>`swarm ps`, `swarm logs NAME [-f]`, `swarm stop NAME|--all`, `swarm uninstall [--yes]`.</summary>
internal static class OperationsCommands
{
    public static Option<bool> ForegroundOption() => new("--foreground") { Description = "stay attached to the terminal (default: start in the background, log under $SWARM_HOME/logs)" };

    public static IEnumerable<Command> Create() => [Ps(), Logs(), Stop(), Uninstall()];

    private static Command Ps()
    {
        var command = new Command("ps", "list the components started in the background on this host");
        command.SetAction(_ =>
        {
            var records = ComponentRecord.All();
            if (records.Count == 0)
            {
                Console.WriteLine($"no components (state in {SwarmHome.Root})");
                return 0;
            }
            Console.WriteLine($"{"NAME",-20} {"PID",-8} {"STATE",-8} {"UP",-10} LOG");
            foreach (var record in records)
            {
                var up = DateTimeOffset.UtcNow - record.Started;
                Console.WriteLine($"{record.Name,-20} {record.Pid,-8} {(record.Alive ? "running" : "exited"),-8} {(record.Alive ? $"{(int)up.TotalHours}h{up.Minutes:00}m{up.Seconds:00}s" : "-"),-10} {record.Log}");
            }
            return 0;
        });
        return command;
    }

    private static Command Logs()
    {
        var name = new Argument<string>("name") { Description = "the component (as `swarm ps` lists it)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep printing new lines until Ctrl-C" };
        var command = new Command("logs", "print a component's log (kept after it exits)") { name, follow };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            string log = Path.Combine(ComponentRecord.LogFolder, parse.GetValue(name)! + ".log");
            if (!File.Exists(log))
            {
                throw new SwarmException($"no log for '{parse.GetValue(name)}' in {ComponentRecord.LogFolder}; `swarm ps` lists the components");
            }
            using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            Console.Write(await reader.ReadToEndAsync(cancellationToken));
            while (parse.GetValue(follow))
            {
                await Task.Delay(300, cancellationToken);
                Console.Write(await reader.ReadToEndAsync(cancellationToken));
            }
        }));
        return command;
    }

    private static Command Stop()
    {
        var name = new Argument<string?>("name") { Description = "the component to stop", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "stop every component on this host" };
        var command = new Command("stop", "stop a component started in the background (its log stays)") { name, all };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var targets = parse.GetValue(all) ? ComponentRecord.All()
                : parse.GetValue(name) is { } one ? [ComponentRecord.Find(one) ?? throw new SwarmException($"no component named '{one}'; `swarm ps` lists them")]
                : throw new SwarmException("name a component (`swarm ps` lists them) or give --all");
            await StopAsync(targets);
        }));
        return command;
    }

    private static Command Uninstall()
    {
        var yes = new Option<bool>("--yes", "-y") { Description = "do not ask" };
        var command = new Command("uninstall", $"stop every component on this host and remove all swarm state and logs ($SWARM_HOME)") { yes };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            string root = SwarmHome.Root;
            if (!parse.GetValue(yes))
            {
                Console.Write($"stop {ComponentRecord.All().Count(r => r.Alive)} running component(s) and delete {root} (identities, keys, ledgers, licences, logs)? [y/N] ");
                if (!string.Equals(Console.ReadLine()?.Trim(), "y", StringComparison.OrdinalIgnoreCase))
                {
                    Console.WriteLine("nothing changed");
                    return;
                }
            }
            await StopAsync(ComponentRecord.All());
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
            Console.WriteLine($"uninstalled: no component running, {root} removed");
        }));
        return command;
    }

    /// <summary>SIGTERM to each (so seats are returned and files closed), SIGKILL after 10 s; the records go, the logs stay.</summary>
    private static async Task StopAsync(IReadOnlyList<ComponentRecord> records)
    {
        foreach (var record in records)
        {
            if (record.Alive)
            {
                using (var term = Process.Start(new ProcessStartInfo("kill", $"-TERM {record.Pid}") { UseShellExecute = false })!)
                {
                    await term.WaitForExitAsync();
                }
                var until = DateTime.UtcNow.AddSeconds(10);
                while (record.Alive && DateTime.UtcNow < until)
                {
                    await Task.Delay(200);
                }
                if (record.Alive)
                {
                    using var process = Process.GetProcessById(record.Pid);
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
                Console.WriteLine($"stopped {record.Name} (pid {record.Pid}); its log stays in {record.Log}");
            }
            record.Remove();
        }
    }
}
