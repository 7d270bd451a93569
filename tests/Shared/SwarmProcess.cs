using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace SwarmLearning.Testing;

/// <summary>
/// The real `swarm` executable as a child process (built by the solution, found next to this test's own build): for
/// integration tests that need real servers, real sockets and real kills.
/// </summary>
internal sealed class SwarmProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Found)> _waiters = [];

    private bool _disposed;

    private SwarmProcess(Process process) => _process = process;

    /// <summary>Everything the process wrote so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The repository's root folder (where Swarm.slnx is).</summary>
    public static string RepositoryRoot => FindRepositoryRoot(AppContext.BaseDirectory);

    /// <summary>The build configuration of this test assembly (Debug or Release).</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    /// <summary>The built swarm.dll of the same configuration as this test assembly.</summary>
    public static string SwarmDll
    {
        get
        {
            string testDirectory = AppContext.BaseDirectory; // …/tests/X/bin/<Configuration>/net10.0/
            string configuration = new DirectoryInfo(testDirectory).Parent!.Name;
            string root = FindRepositoryRoot(testDirectory);
            string dll = Path.Combine(root, "src", "SwarmLearning.Cli", "bin", configuration, "net10.0", "swarm.dll");
            return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: build the solution first (dotnet build Swarm.slnx)");
        }
    }

    /// <summary>Starts `swarm <paramref name="arguments"/>`.</summary>
    public static SwarmProcess Start(params string[] arguments) => Start(null, arguments);

    /// <summary>Starts `swarm <paramref name="arguments"/>` with extra environment variables.</summary>
    public static SwarmProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] arguments) => Start(environment, attached: true, arguments);

    /// <summary>Runs `swarm <paramref name="arguments"/>` to completion as a user would type it (a run-* command then starts its component in the background).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsUserAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        await using var swarm = Start(environment, attached: false, arguments);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await swarm._process.WaitForExitAsync(timeout.Token);
        swarm._process.WaitForExit();
        return (swarm._process.ExitCode, swarm.Output);
    }

    private static SwarmProcess Start(IReadOnlyDictionary<string, string>? environment, bool attached, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SwarmDll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (attached && arguments.Length > 0 && arguments[0].StartsWith("run-", StringComparison.Ordinal) && !arguments.Contains("--foreground"))
        {
            info.ArgumentList.Add("--foreground"); // components under test stay attached: the test reads their output and kills them
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info };
        var swarm = new SwarmProcess(process);
        process.OutputDataReceived += (_, e) => swarm.Received(e.Data);
        process.ErrorDataReceived += (_, e) => swarm.Received(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return swarm;
    }

    /// <summary>Runs `swarm <paramref name="arguments"/>` to completion; returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => RunAsync(TimeSpan.FromMinutes(2), arguments);

    /// <summary>Runs `swarm <paramref name="arguments"/>` to completion within <paramref name="limit"/>; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan limit, params string[] arguments)
    {
        await using var swarm = Start(arguments);
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await swarm._process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopped when disposed; the output says how far it got.
            throw new TimeoutException($"`swarm {string.Join(' ', arguments)}` did not finish within {limit}; its output so far:\n{swarm.Output}");
        }
        swarm._process.WaitForExit(); // drains the asynchronous output readers
        return (swarm._process.ExitCode, swarm.Output);
    }

    /// <summary>`swarm identity token create` against the identity server's data folder; returns the printed token.</summary>
    public static async Task<string> CreateJoinTokenAsync(string identityDataDirectory, string spiffeId)
    {
        var (exitCode, output) = await RunAsync("identity", "token", "create", "--data-dir", identityDataDirectory, "--spiffe-id", spiffeId);
        return exitCode == 0 ? output.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("sjt.", StringComparison.Ordinal))
            : throw new InvalidOperationException($"token create for {spiffeId} failed ({exitCode}): {output}");
    }

    /// <summary>Waits for a line matching <paramref name="pattern"/>; fails with the output if the process exits first.</summary>
    public async Task<Match> WaitForAsync(string pattern, TimeSpan? timeout = null)
    {
        var regex = new Regex(pattern);
        var found = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            var existing = regex.Match(_output.ToString());
            if (existing.Success)
            {
                return existing;
            }
            _waiters.Add((regex, found));
        }
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(found.Task, exited, Task.Delay(timeout ?? TimeSpan.FromSeconds(60)));
        if (first == exited)
        {
            _process.WaitForExit(); // the exit can be seen before the last lines are read: drain them, then look again
            var last = regex.Match(Output);
            if (last.Success)
            {
                return last;
            }
        }
        return first == found.Task ? await found.Task
            : throw new TimeoutException($"'{pattern}' did not appear ({(first == exited ? "the process exited" : "timed out")}); output:\n{Output}");
    }

    /// <summary>Ctrl-C (SIGINT); returns the exit code once the process has ended.</summary>
    public async Task<int> InterruptAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill", $"-INT {_process.Id}") { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync();
        }
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            // Say what is still running and what the process printed last, so a hang can be told from slowness.
            using var ps = Process.Start(new ProcessStartInfo("ps", "-eo pid,ppid,etime,stat,args --forest") { RedirectStandardOutput = true })!;
            string processes = await ps.StandardOutput.ReadToEndAsync();
            string output = Output;
            throw new TimeoutException($"process {_process.Id} (exited: {_process.HasExited}) did not end within {timeout} of SIGINT; its last output:\n"
                + output[Math.Max(0, output.Length - 4000)..] + "\nprocesses:\n" + processes);
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>kill -9.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    private void Received(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var waiter in _waiters.ToList())
            {
                var match = waiter.Pattern.Match(line);
                if (match.Success)
                {
                    waiter.Found.TrySetResult(match);
                    _waiters.Remove(waiter);
                }
            }
        }
    }

    private static string FindRepositoryRoot(string from)
    {
        for (var directory = new DirectoryInfo(from); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Swarm.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no Swarm.slnx above {from}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
