using System.Diagnostics;
using System.Text.RegularExpressions;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Operations;

/// <summary>
/// `swarm run-*` without --foreground: the same command again with --foreground, in its own session (it outlives this
/// terminal), its output appended to $SWARM_HOME/logs/NAME.log. Returns once the component says it is ready, or with
/// the end of its log and its exit code if it stopped first, so a refusal is seen at once.
/// </summary>
internal static class Background
{
    public static async Task<int> LaunchAsync(string name, string readyPattern, CancellationToken cancellationToken)
    {
        if (ComponentRecord.Find(name) is { Alive: true } running)
        {
            throw new SwarmException($"{name} is already running (pid {running.Pid}): `swarm stop {name}` first, or `swarm logs {name}`");
        }
        Directory.CreateDirectory(ComponentRecord.LogFolder);
        string log = Path.Combine(ComponentRecord.LogFolder, name + ".log");
        long from = File.Exists(log) ? new FileInfo(log).Length : 0;
        var given = Environment.GetCommandLineArgs().Skip(1).ToList();
        string? token = JoinTokenInput.Extract(given); // to the child in its environment, never on its command line
        string[] arguments = [.. given, "--foreground"];
        var (file, prefix) = SwarmExecutable.Command();
        var command = new List<string> { file };
        command.AddRange(prefix);
        command.AddRange(arguments);
        var shell = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        if (token is not null)
        {
            shell.Environment[JoinTokenInput.Variable] = token;
        }
        shell.ArgumentList.Add("-c");
        shell.ArgumentList.Add($"setsid {string.Join(' ', command.Select(Quote))} >> {Quote(log)} 2>&1 < /dev/null & echo $!");
        using var launcher = Process.Start(shell)!;
        int pid = int.Parse((await launcher.StandardOutput.ReadToEndAsync(cancellationToken)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await launcher.WaitForExitAsync(cancellationToken);
        var record = new ComponentRecord(name, pid, DateTimeOffset.UtcNow, log, arguments);
        record.Save();

        var ready = new Regex(readyPattern);
        var until = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < until)
        {
            await Task.Delay(250, cancellationToken);
            string written = ReadFrom(log, from);
            if (ready.Match(written) is { Success: true } match)
            {
                string state = match.Value.StartsWith("waiting", StringComparison.Ordinal) ? $" and {match.Value}" : "";
                Console.WriteLine($"started {name} (pid {pid}){state}; log: {log}; `swarm ps`, `swarm logs {name}`, `swarm stop {name}`");
                return 0;
            }
            if (!record.Alive)
            {
                await Console.Error.WriteLineAsync($"{name} stopped during start-up; the end of its log ({log}):");
                await Console.Error.WriteLineAsync(string.Join('\n', written.Split('\n').TakeLast(15)));
                record.Remove();
                return 2;
            }
        }
        Console.WriteLine($"{name} (pid {pid}) is still starting; follow it with `swarm logs {name} -f`");
        return 0;
    }

    private static string ReadFrom(string path, long offset)
    {
        using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        return new StreamReader(stream).ReadToEnd();
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
