using SwarmLearning.Testing;

namespace SwarmLearning.Cli.Tests;

/// <summary>The command interface against a real identity server and SN: context, contracts, PERFDATA, nodes, wait-for, scripts.</summary>
public sealed class SwciTests : IAsyncLifetime
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarm-swci-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<SwarmProcess> _processes = [];
    private string _identity = "";
    private int _api;

    private Dictionary<string, string> Environment => new() { ["SWARM_HOME"] = _home };

    public async Task InitializeAsync()
    {
        var identity = Track(SwarmProcess.Start(Environment, "run-spire-server", "--host", "127.0.0.1", "--port", "0"));
        _identity = "127.0.0.1:" + (await identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)")).Groups[1].Value;
        _api = Loopback.FreePort();
        var sn = Track(SwarmProcess.Start(Environment, "run-sn", "--name", "sn1", "--sentinel", "--identity-server", _identity, "--ledger-port", $"{Loopback.FreePort()}",
            "--api-port", $"{_api}", "--sn-fs-port", $"{Loopback.FreePort()}", "--join-token", await Token("sn/sn1")));
        await sn.WaitForAsync("SN ready", TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task An_operator_creates_lists_inspects_and_scripts_contracts_through_an_sn()
    {
        var created = await Swci("context", "create", "ops", "--sn", $"127.0.0.1:{_api}", "--identity-server", _identity, "--join-token", await Token("swci/ops"));
        Assert.Contains("context ops: spiffe://swarm.local/swci/ops", created, StringComparison.Ordinal);
        Assert.Contains("is up: spiffe://swarm.local/sn/sn1", await Swci("wait-for", $"127.0.0.1:{_api}"), StringComparison.Ordinal);

        Assert.Contains("contract mnist created (by spiffe://swarm.local/swci/ops)", await Swci("contract", "create", "mnist", "--min-peers", "2", "--sync-frequency", "5", "--merge", "coordmedian"), StringComparison.Ordinal);
        Assert.Matches(@"mnist\s+\w+\s+0\s+0\s+0", await Swci("contract", "list"));
        Assert.Contains("minPeers 2, syncFrequency 5, merge coordmedian", await Swci("contract", "status", "mnist"), StringComparison.Ordinal);
        Assert.Contains("NODE", await Swci("perfdata", "mnist"), StringComparison.Ordinal);
        Assert.Matches(@"SN\s+spiffe://swarm.local/sn/sn1", await Swci("nodes"));
        Assert.Contains("contract mnist reset", await Swci("contract", "reset", "mnist"), StringComparison.Ordinal);

        string script = Path.Combine(_home, "setup.swci");
        await File.WriteAllLinesAsync(script, ["# a training for tomorrow", "contract create fashion --min-peers 3 --sync-frequency 10", "contract status fashion", "contract status nope", "contract list"]);
        var (code, output) = await SwarmProcess.RunAsUserAsync(Environment, "swci", "script", script);
        Assert.NotEqual(0, code);
        Assert.Contains("contract fashion created", output, StringComparison.Ordinal);
        Assert.Contains("no contract named 'nope'", output, StringComparison.Ordinal);
        Assert.Contains("setup.swci:4 failed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("> contract list", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_hpe_swci_init_script_runs_with_the_operators_identity_and_swop_commands_are_refused_clearly()
    {
        await Swci("context", "create", "ops", "--sn", $"127.0.0.1:{_api}", "--identity-server", _identity, "--join-token", await Token("swci/ops"));
        string script = Path.Combine(_home, "swci-init");
        await File.WriteAllLinesAsync(script,
        [
            "# HPE's swci-init, as its examples write it",
            "EXIT ON FAILURE",
            $"wait for ip 127.0.0.1 {_api} 12",
            $"create context test-mnist with ip 127.0.0.1 {_api}",
            "switch context test-mnist",
            "CREATE CONTRACT defaultbb.cqdb.sml.hpe",
            "LIST CONTRACTS",
            "LIST NODES",
            "EXIT ON FAILURE OFF",
            "CREATE TASK FROM taskdefs/run_mnist_pyt.yaml",
            "ASSIGN TASK run_mnist_pyt TO defaulttaskbb.taskdb.sml.hpe WITH 2 PEERS",
            "EXIT ON FAILURE",
            "SLEEP 1",
            "GET CONTEXT VERSION",
            "EXIT",
            "LIST CONTRACTS",
        ]);
        var (code, output) = await SwarmProcess.RunAsUserAsync(Environment, "swci", "script", script);

        Assert.True(code == 0, output);
        Assert.Contains("is up: spiffe://swarm.local/sn/sn1", output, StringComparison.Ordinal); // a context existed: checked over mTLS
        Assert.Contains("context test-mnist: spiffe://swarm.local/swci/ops", output, StringComparison.Ordinal);
        Assert.Contains("contract defaultbb.cqdb.sml.hpe: created when its first node registers", output, StringComparison.Ordinal);
        Assert.Matches(@"SN\s+spiffe://swarm.local/sn/sn1", output);
        Assert.Contains("'CREATE TASK' is a SWOP task command", output, StringComparison.Ordinal);
        Assert.Contains("swci-init:10 failed (exit 2); going on, as EXIT ON FAILURE is OFF", output, StringComparison.Ordinal);
        Assert.Contains("'ASSIGN TASK' is a SWOP task command", output, StringComparison.Ordinal);
        Assert.Contains("swarm 0.", output, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "> LIST CONTRACTS")); // nothing after EXIT

        await File.WriteAllLinesAsync(script, ["EXIT ON FAILURE", "ASSIGN TASK t TO defaulttaskbb.taskdb.sml.hpe WITH 1 PEERS", "LIST NODES"]);
        (code, output) = await SwarmProcess.RunAsUserAsync(Environment, "swci", "script", script);
        Assert.Equal(2, code);
        Assert.Contains("swci-init:2 failed (exit 2); the lines after it were not run", output, StringComparison.Ordinal);
    }

    private async Task<string> Swci(params string[] arguments)
    {
        var (code, output) = await SwarmProcess.RunAsUserAsync(Environment, ["swci", .. arguments]);
        Assert.True(code == 0, $"swci {string.Join(' ', arguments)}: {output}");
        return output;
    }

    private Task<string> Token(string path) => SwarmProcess.CreateJoinTokenAsync(Path.Combine(_home, "spire-server"), $"spiffe://swarm.local/{path}");

    private SwarmProcess Track(SwarmProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public async Task DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        Directory.Delete(_home, recursive: true);
    }
}
