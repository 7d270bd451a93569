using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;

using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Real processes on loopback: an identity server and three SNs (`swarm run-sn`). The sentinel starts the network,
/// two join; transactions sent to any SN commit on all; kill -9 of the sentinel leaves the others working; it
/// restarts and catches up; callers without an SVID, with a forged signature, or acting for another node are refused.
/// </summary>
public sealed class SnProcessTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-sn-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, SwarmProcess> _sns = [];
    private readonly Dictionary<string, (int Ledger, int Api, int Files)> _ports = [];
    private SwarmProcess _identity = null!;
    private string _identityAddress = "";

    public async Task InitializeAsync()
    {
        _identity = SwarmProcess.Start("run-spire-server", "--data-dir", Path.Combine(_root, "id"), "--host", "127.0.0.1", "--port", "0");
        _identityAddress = "127.0.0.1:" + (await _identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)")).Groups[1].Value;
        foreach (string name in new[] { "sn1", "sn2", "sn3", "sn4" })
        {
            _ports[name] = (Loopback.FreePort(), Loopback.FreePort(), Loopback.FreePort());
        }
    }

    private static readonly Core.Privacy.DifferentialPrivacy Dp = new(ClipNorm: 1, NoiseMultiplier: 1.1, Delta: 1e-5);

    [Fact]
    public async Task Three_sns_commit_everywhere_survive_the_sentinels_kill_and_refuse_bad_callers()
    {
        await StartSn("sn1", sentinel: true);
        await Task.WhenAll(StartSn("sn2"), StartSn("sn3"));
        await Converged("sn1", "sn2", "sn3");

        // An SL node: its SVID from the identity server, its ledger key put on the chain through SN 2 (a follower).
        var folder = new SvidFolder(Path.Combine(_root, "node1"));
        using (await new IdentityClient(_identityAddress).AttestAsync(JoinToken.Parse(await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_root, "id"), "spiffe://swarm.local/sl/node1")), folder)) { }
        var svid = new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
        using var http = new HttpClient(MutualTls.Handler(svid, PeerPolicy.Under(svid, "sn")));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var registered = await Post<TxResult>(http, "sn2", "/v1/keys", new KeyRequest(ChainRules.PublicKeyOf(key)));
        Assert.True(registered.Accepted, registered.Reason);

        var joined = await Post<TxResult>(http, "sn3", "/v1/transactions", Sign(key, 1, new RegisterNode("mnist", "node1", TestModel, new TrainingParameters(1, 10, Privacy: Dp))));
        Assert.True(joined.Accepted, joined.Reason);
        foreach (string sn in new[] { "sn1", "sn2", "sn3" })
        {
            var contract = await http.GetFromJsonAsync<ContractState>(Url(sn, "/v1/contracts/mnist?after=0"), LedgerJson.Options);
            Assert.Contains("node1", contract!.Nodes.Keys);
        }

        // Refusals: a forged signature is refused at the API and never written; acting for another node is refused.
        var forged = Sign(key, 2, new LeaveContract("mnist", "node1")) with { Signature = Sign(key, 2, new FinishTraining("mnist", "node1")).Signature };
        long height = (await http.GetFromJsonAsync<SnHealth>(Url("sn1", "/v1/health"), LedgerJson.Options))!.Height;
        using (var refused = await http.PostAsync(Url("sn1", "/v1/transactions"), JsonContent.Create(forged, options: LedgerJson.Options)))
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("\"bad-signature\"", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(height, (await http.GetFromJsonAsync<SnHealth>(Url("sn1", "/v1/health"), LedgerJson.Options))!.Height);
        var impersonation = await Post<TxResult>(http, "sn1", "/v1/transactions", Sign(key, 2, new LeaveContract("mnist", "node2")));
        Assert.False(impersonation.Accepted);
        using var anonymous = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } });
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetAsync(Url("sn2", "/v1/health")));

        // kill -9 of the sentinel: the two others elect a leader and go on.
        _sns["sn1"].Kill();
        await _sns["sn1"].DisposeAsync();
        var left = await Post<TxResult>(http, "sn2", "/v1/transactions", Sign(key, 3, new ReportProgress("mnist", "node1", 0, 1, 5, 0.5, 0.8, Epsilon: 2.5)), retryFor: TimeSpan.FromSeconds(30));
        Assert.True(left.Accepted, left.Reason);
        await Converged("sn2", "sn3");

        // The sentinel restarts (its SVID is on disk, no token) and catches up.
        await StartSn("sn1", sentinel: true, token: false);
        await Converged("sn1", "sn2", "sn3");
        var report = ChainVerifier.Verify(Path.Combine(_root, "sn1", "chain", "blocks.jsonl"));
        Assert.True(report.Ok, report.FirstFault?.Message);
        var progress = await http.GetFromJsonAsync<ContractState>(Url("sn1", "/v1/contracts/mnist"), LedgerJson.Options);
        Assert.Equal(1, progress!.Nodes["node1"].Progress!.EpochsDone);
        Assert.Equal(Dp, progress.Parameters.Privacy); // the contract's privacy settings, through the chain and the restart

        // PERFDATA with liveness seen by this SN (off the chain), and the OpenAPI document.
        using (var alive = await http.PostAsync(Url("sn1", "/v1/alive"), JsonContent.Create(new AliveRequest("mnist", "node1"), options: LedgerJson.Options)))
        {
            Assert.True(alive.IsSuccessStatusCode);
        }
        var perf = await http.GetFromJsonAsync<List<NodeProgressInfo>>(Url("sn1", "/v1/contracts/mnist/progress"), LedgerJson.Options);
        Assert.Equal((1, 5, 0.8, 2.5), (perf![0].EpochsDone, perf[0].TotalEpochs, perf[0].Metric, perf[0].Epsilon));
        Assert.NotNull(perf[0].LastAlive);
        Assert.Contains("/v1/transactions", await http.GetStringAsync(Url("sn1", "/v1/openapi.json")), StringComparison.Ordinal);

        // A changed byte in a stored block: the SN refuses to start, and `swarm ledger verify` names the block.
        _sns["sn3"].Kill();
        await _sns["sn3"].DisposeAsync();
        string archive = Path.Combine(_root, "sn3", "chain", "blocks.jsonl");
        var lines = File.ReadAllLines(archive);
        int changed = Array.FindIndex(lines, l => l.Contains("sl/node1", StringComparison.Ordinal));
        lines[changed] = lines[changed].Replace("sl/node1", "sl/node7", StringComparison.Ordinal);
        File.WriteAllLines(archive, lines);
        var (startCode, startOutput) = await SwarmProcess.RunAsync("run-sn", "--name", "sn3", "--data-dir", Path.Combine(_root, "sn3"),
            "--ledger-port", $"{_ports["sn3"].Ledger}", "--api-port", $"{_ports["sn3"].Api}", "--sn-fs-port", $"{_ports["sn3"].Files}", "--identity-server", _identityAddress);
        Assert.Equal(2, startCode);
        Assert.Contains("block archive is damaged", startOutput, StringComparison.Ordinal);
        var (verifyCode, verifyOutput) = await SwarmProcess.RunAsync("ledger", "verify", Path.Combine(_root, "sn3"));
        Assert.Equal(1, verifyCode);
        Assert.Contains($"BAD: block {changed}:", verifyOutput, StringComparison.Ordinal);

        // The file server serves the archive as stored, to admitted SNs only (an SL is refused at the handshake); an SN
        // joining now starts from a snapshot and fills its archive from it.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetStringAsync(new Uri($"https://127.0.0.1:{_ports["sn2"].Files}/v1/chain/blocks")));
        string sn1Identity = Path.Combine(_root, "sn1", "identity");
        var asSn1 = new FileSvidSource(Path.Combine(sn1Identity, "svid.crt"), Path.Combine(sn1Identity, "svid.key"), Path.Combine(sn1Identity, "bundle.crt"));
        using var snHttp = new HttpClient(MutualTls.Handler(asSn1, PeerPolicy.Under(asSn1, "sn")));
        string served = await snHttp.GetStringAsync(new Uri($"https://127.0.0.1:{_ports["sn2"].Files}/v1/chain/blocks"));
        Assert.Equal(File.ReadAllText(Path.Combine(_root, "sn2", "chain", "blocks.jsonl")), served);
        await StartSn("sn4");
        await Converged("sn1", "sn2", "sn4");
        string sn4Archive = Path.Combine(_root, "sn4", "chain", "blocks.jsonl");
        // Its state came from a snapshot: the archive is complete once the blocks before it are filled in from a peer.
        for (int i = 0; i < 60 && (File.Exists(Path.Combine(_root, "sn4", "chain", "pending.jsonl")) || !ChainVerifier.Verify(sn4Archive).Ok); i++)
        {
            await Task.Delay(500);
        }
        var sn4Report = ChainVerifier.Verify(sn4Archive);
        Assert.True(sn4Report.Ok, sn4Report.FirstFault?.Message + "\n" + _sns["sn4"].Output);
        Assert.Contains("filled blocks 0 to", _sns["sn4"].Output, StringComparison.Ordinal);
    }

    private static Core.Model.ModelSignature TestModel => new([new Core.Model.TensorSpec("w", Core.Model.DType.F32, [4])]);

    private static SignedTransaction Sign(ECDsa key, long nonce, ContractTx tx) =>
        SignedTransaction.Sign(new TxBody("swarm.local/main", "spiffe://swarm.local/sl/node1", nonce, new ContractAction(tx)), key);

    private async Task StartSn(string name, bool sentinel = false, bool token = true)
    {
        var (ledger, api, files) = _ports[name];
        var arguments = new List<string> { "run-sn", "--name", name, "--data-dir", Path.Combine(_root, name), "--ledger-port", $"{ledger}", "--api-port", $"{api}", "--sn-fs-port", $"{files}", "--identity-server", _identityAddress };
        if (token)
        {
            arguments.AddRange(["--join-token", await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_root, "id"), $"spiffe://swarm.local/sn/{name}")]);
        }
        arguments.AddRange(sentinel ? ["--sentinel"] : ["--sentinel-ip", "127.0.0.1", "--sentinel-api-port", $"{_ports["sn1"].Api}"]);
        // Snapshots every 5 blocks, so that an SN joining late starts from one and must fill its archive from a peer.
        var process = SwarmProcess.Start(new Dictionary<string, string> { ["SWARM_LEDGER_SNAPSHOT_EVERY"] = "5" }, [.. arguments]);
        _sns[name] = process;
        await process.WaitForAsync("SN ready", TimeSpan.FromSeconds(90));
    }

    private async Task Converged(params string[] names)
    {
        var folder = new SvidFolder(Path.Combine(_root, names[0], "identity"));
        var svid = new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
        using var http = new HttpClient(MutualTls.Handler(svid, PeerPolicy.Under(svid, "sn")));
        var heads = new List<string?>();
        for (int i = 0; i < 120; i++)
        {
            heads.Clear();
            foreach (string name in names)
            {
                try
                {
                    heads.Add((await http.GetFromJsonAsync<SnHealth>(Url(name, "/v1/health"), LedgerJson.Options))!.HeadHash);
                }
                catch (HttpRequestException)
                {
                    heads.Add(null);
                }
            }
            if (heads.Distinct().Count() == 1 && heads[0] is not null)
            {
                return;
            }
            await Task.Delay(250);
        }
        Assert.Fail($"SNs {string.Join(", ", names)} did not converge: {string.Join(", ", heads)}");
    }

    private async Task<T> Post<T>(HttpClient http, string sn, string path, object body, TimeSpan? retryFor = null)
    {
        var until = DateTime.UtcNow + (retryFor ?? TimeSpan.Zero);
        while (true)
        {
            using var response = await http.PostAsync(Url(sn, path), JsonContent.Create(body, body.GetType(), options: LedgerJson.Options));
            if (response.IsSuccessStatusCode)
            {
                return (await response.Content.ReadFromJsonAsync<T>(LedgerJson.Options))!;
            }
            if (DateTime.UtcNow > until)
            {
                Assert.Fail($"POST {path} to {sn}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            await Task.Delay(500); // an election after the kill: no leader for a moment
        }
    }

    private Uri Url(string sn, string path) => new($"https://127.0.0.1:{_ports[sn].Api}{path}");

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var process in _sns.Values)
            {
                await process.DisposeAsync();
            }
        }
        finally
        {
            // Never leave a server behind, whatever failed above.
            await _identity.DisposeAsync();
            Directory.Delete(_root, recursive: true);
        }
    }
}
