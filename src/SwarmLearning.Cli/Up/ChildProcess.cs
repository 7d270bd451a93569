using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SwarmLearning.Cli.Up;

/// <summary>
/// A component started by `swarm up`: `swarm ARGS` as a child process, every output line appended to its log file and
/// passed to a listener; stopped with SIGTERM (so it returns its licence seat and closes its files), then SIGKILL.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Found)> _waiters = [];

    private ChildProcess(string name, Process process, StreamWriter log)
    {
        Name = name;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>kill -9 of the component and its children (Ctrl-C's last resort).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // it has exited already
        }
    }

    /// <summary>Starts `swarm <paramref name="arguments"/>` (this very executable) as <paramref name="name"/>.</summary>
    public static ChildProcess Start(string name, string logPath, Action<ChildProcess, string>? onLine, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var (file, prefix) = SwarmExecutable.Command();
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in prefix.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }
        if (arguments.Length > 0 && arguments[0].StartsWith("run-", StringComparison.Ordinal))
        {
            info.ArgumentList.Add("--foreground"); // `swarm up` supervises its components itself
        }
        foreach (var alias in HpeEnvironment.Aliases)
        {
            info.Environment.Remove(alias.Variable); // up sets its components' options itself: an operator's SL_*/SN_* must not retarget them
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        var child = new ChildProcess(name, process, log);
        process.OutputDataReceived += (_, e) => child.Received(e.Data, onLine);
        process.ErrorDataReceived += (_, e) => child.Received(e.Data, onLine);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/>; throws with the log's path if the process exits first.</summary>
    public async Task<Match> WaitForAsync(string pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Add((new Regex(pattern), found));
        }
        var exited = _process.WaitForExitAsync(cancellationToken);
        var first = await Task.WhenAny(found.Task, exited, Task.Delay(timeout, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        return first == found.Task ? await found.Task
            : throw new Core.SwarmException($"{Name} {(first == exited ? $"exited (code {_process.ExitCode})" : "did not get ready in time")}; its log: {((FileStream)_log.BaseStream).Name}");
    }

    /// <summary>Waits for the process to end.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    private void Received(string? line, Action<ChildProcess, string>? onLine)
    {
        if (line is null)
        {
            return;
        }
        lock (_waiters)
        {
            _log.WriteLine(line);
            foreach (var waiter in _waiters.ToList())
            {
                if (waiter.Pattern.Match(line) is { Success: true } match)
                {
                    waiter.Found.TrySetResult(match);
                    _waiters.Remove(waiter);
                }
            }
        }
        onLine?.Invoke(this, line);
    }

    /// <summary>SIGTERM, up to <paramref name="grace"/> to exit, then SIGKILL.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }
        if (!OperatingSystem.IsWindows())
        {
            using var term = Process.Start(new ProcessStartInfo("kill", $"-TERM {_process.Id}") { UseShellExecute = false });
            await term!.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.WaitForExit();
        _process.Dispose();
        lock (_waiters)
        {
            _log.Dispose();
        }
    }
}
