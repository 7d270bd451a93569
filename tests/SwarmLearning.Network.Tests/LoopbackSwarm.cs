using System.Net.Http.Json;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// A swarm of real processes on loopback for end-to-end tests: an identity server and 2 SNs, started at once; SL nodes
/// (`swarm run-sl`, each with its ML program) started by the test. Everything is stopped and its folder deleted on dispose.
/// </summary>
internal sealed class LoopbackSwarm : IAsyncDisposable
{
    private readonly List<SwarmProcess> _processes = [];
    private readonly Dictionary<string, int> _apis = [];
    private string _identityAddress = "";

    private LoopbackSwarm()
    {
    }

    /// <summary>The folder under which every component keeps its state (the node NAME's in Root/NAME).</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "swarm-sl-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Starts the identity server and the SNs sn1 (sentinel) and sn2.</summary>
    public static async Task<LoopbackSwarm> StartAsync()
    {
        var swarm = new LoopbackSwarm();
        var identity = swarm.Track(SwarmProcess.Start("run-spire-server", "--data-dir", Path.Combine(swarm.Root, "id"), "--host", "127.0.0.1", "--port", "0"));
        swarm._identityAddress = "127.0.0.1:" + (await identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)")).Groups[1].Value;
        foreach (string name in new[] { "sn1", "sn2" })
        {
            swarm._apis[name] = Loopback.FreePort();
            var arguments = new List<string> { "run-sn", "--name", name, "--data-dir", Path.Combine(swarm.Root, name), "--ledger-port", $"{Loopback.FreePort()}", "--api-port", $"{swarm._apis[name]}",
                "--sn-fs-port", $"{Loopback.FreePort()}", "--identity-server", swarm._identityAddress, "--join-token", await swarm.Token($"sn/{name}") };
            arguments.AddRange(name == "sn1" ? ["--sentinel"] : ["--sentinel-ip", "127.0.0.1", "--sentinel-api-port", $"{swarm._apis["sn1"]}"]);
            await swarm.Track(SwarmProcess.Start([.. arguments])).WaitForAsync("SN ready", TimeSpan.FromSeconds(90));
        }
        return swarm;
    }

    /// <summary>Starts `swarm run-sl` for node <paramref name="name"/> running <paramref name="program"/>, with short contract timings.</summary>
    public async Task<SwarmProcess> StartSl(string name, string program, bool token = true, IReadOnlyDictionary<string, string>? environment = null, bool waitReady = true,
        string stragglers = "10s", IEnumerable<string>? more = null)
    {
        var arguments = new List<string>
        {
            "run-sl", "--name", name, "--data-dir", Path.Combine(Root, name), "--sl-fs-port", "0", "--sn-api-port", $"{_apis["sn1"]}", "--sn", $"127.0.0.1:{_apis["sn2"]}",
            "--identity-server", _identityAddress, "--wait-window", "1s", "--leader-timeout", "5s", "--straggler-timeout", stragglers, "--ml-cmd", program,
        };
        if (token)
        {
            arguments.AddRange(["--join-token", await Token($"sl/{name}")]);
        }
        arguments.AddRange(more ?? []);
        var process = Track(SwarmProcess.Start(environment, [.. arguments]));
        if (waitReady)
        {
            await process.WaitForAsync("SL ready", TimeSpan.FromSeconds(60));
        }
        return process;
    }

    /// <summary>The contract as an SN serves it, asked with node <paramref name="node"/>'s identity.</summary>
    public async Task<ContractState> ContractAsync(string node, string contract)
    {
        var folder = new SvidFolder(Path.Combine(Root, node, "identity"));
        var svid = new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
        using var http = new HttpClient(MutualTls.Handler(svid, PeerPolicy.Under(svid, "sn")));
        return (await http.GetFromJsonAsync<ContractState>(new Uri($"https://127.0.0.1:{_apis["sn2"]}/v1/contracts/{contract}"), LedgerJson.Options))!;
    }

    private Task<string> Token(string path) => SwarmProcess.CreateJoinTokenAsync(Path.Combine(Root, "id"), $"spiffe://swarm.local/{path}");

    private SwarmProcess Track(SwarmProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        Directory.Delete(Root, recursive: true);
    }
}
