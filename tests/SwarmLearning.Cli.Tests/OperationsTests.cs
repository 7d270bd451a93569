using System.Diagnostics;
using SwarmLearning.Testing;

namespace SwarmLearning.Cli.Tests;

/// <summary>Components in the background, as a user runs them: `swarm run-*`, `ps`, `logs`, `stop`, `uninstall`, in a private SWARM_HOME.</summary>
public sealed class OperationsTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarm-ops-" + Guid.NewGuid().ToString("N")[..8]);

    private Dictionary<string, string> Environment => new() { ["SWARM_HOME"] = _home };

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_background_component_is_listed_logged_refused_twice_and_stopped_and_its_log_stays()
    {
        var (started, output) = await Swarm("run-spire-server", "--host", "127.0.0.1", "--port", "0");
        Assert.True(started == 0, output);
        Assert.Contains("started spire-server (pid", output, StringComparison.Ordinal);

        var (_, ps) = await Swarm("ps");
        Assert.Matches(@"spire-server\s+\d+\s+running", ps);
        var (_, log) = await Swarm("logs", "spire-server");
        Assert.Contains("identity server ready", log, StringComparison.Ordinal);
        var (twice, twiceOutput) = await Swarm("run-spire-server", "--host", "127.0.0.1", "--port", "0");
        Assert.Equal(2, twice);
        Assert.Contains("spire-server is already running", twiceOutput, StringComparison.Ordinal);

        var (stopped, stopOutput) = await Swarm("stop", "spire-server");
        Assert.True(stopped == 0, stopOutput);
        Assert.Contains("no components", (await Swarm("ps")).Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_home, "logs", "spire-server.log")));
        Assert.Empty(Running());
    }

    [Fact]
    public async Task A_component_that_fails_to_start_shows_the_end_of_its_log()
    {
        var (code, output) = await Swarm("run-sn", "--name", "sn1", "--sentinel", "--identity-server", "127.0.0.1:1", "--join-token", "sjt.bad.token");
        Assert.Equal(2, code);
        Assert.Contains("sn-sn1 stopped during start-up; the end of its log", output, StringComparison.Ordinal);
        Assert.Contains("error:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Uninstall_stops_every_component_and_removes_all_state()
    {
        int port = Loopback.FreePort();
        Assert.Equal(0, (await Swarm("run-spire-server", "--host", "127.0.0.1", "--port", $"{port}")).ExitCode);
        string token = await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_home, "spire-server"), "spiffe://swarm.local/sn/sn1");
        var (sn, snOutput) = await Swarm("run-sn", "--name", "sn1", "--sentinel", "--identity-server", $"127.0.0.1:{port}", "--join-token", token,
            "--ledger-port", $"{Loopback.FreePort()}", "--api-port", $"{Loopback.FreePort()}", "--sn-fs-port", $"{Loopback.FreePort()}");
        Assert.True(sn == 0, snOutput);
        Assert.Equal(2, Running().Count);

        var (code, output) = await Swarm("uninstall", "--yes");
        Assert.True(code == 0, output);
        Assert.Empty(Running());
        Assert.False(Directory.Exists(_home));
    }

    private Task<(int ExitCode, string Output)> Swarm(params string[] arguments) => SwarmProcess.RunAsUserAsync(Environment, arguments);

    // The pids of processes whose command line mentions this test's SWARM_HOME, or that we started in it.
    private List<int> Running()
    {
        var pids = new List<int>();
        foreach (var file in Directory.Exists(Path.Combine(_home, "run")) ? Directory.GetFiles(Path.Combine(_home, "run")) : [])
        {
            var record = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            int pid = record.GetProperty("pid").GetInt32();
            try
            {
                using var process = Process.GetProcessById(pid);
                if (!process.HasExited)
                {
                    pids.Add(pid);
                }
            }
            catch (ArgumentException)
            {
                // gone
            }
        }
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", $"-f {_home}") { RedirectStandardOutput = true })!;
        pids.AddRange(pgrep.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
        pgrep.WaitForExit();
        return [.. pids.Distinct()];
    }

    public async Task DisposeAsync()
    {
        if (Directory.Exists(_home))
        {
            await Swarm("stop", "--all");
            Directory.Delete(_home, recursive: true);
        }
    }
}
