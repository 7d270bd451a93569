using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Network.Client;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Session;
using SwarmLearning.Protocol.Ports;

using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// The SL node's round engine, unchanged, on the real ledger and real files: two nodes train through an SN process
/// (sentinel, identity server, mTLS, signed transactions), their parameter files on disk and fetched from each other's
/// file servers over mTLS, checked against their hashes.
/// </summary>
public sealed class SlOverSnTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-slsn-" + Guid.NewGuid().ToString("N")[..8]);
    private SwarmProcess _identity = null!, _sn = null!;
    private string _identityAddress = "";
    private Uri _api = null!;

    public async Task InitializeAsync()
    {
        _identity = SwarmProcess.Start("run-spire-server", "--data-dir", Path.Combine(_root, "id"), "--host", "127.0.0.1", "--port", "0");
        _identityAddress = "127.0.0.1:" + (await _identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)")).Groups[1].Value;
        int api = Loopback.FreePort();
        _api = new Uri($"https://127.0.0.1:{api}");
        _sn = SwarmProcess.Start("run-sn", "--name", "sn1", "--sentinel", "--data-dir", Path.Combine(_root, "sn1"), "--ledger-port", $"{Loopback.FreePort()}",
            "--api-port", $"{api}", "--sn-fs-port", $"{Loopback.FreePort()}", "--identity-server", _identityAddress, "--join-token", await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_root, "id"), "spiffe://swarm.local/sn/sn1"));
        await _sn.WaitForAsync("SN ready", TimeSpan.FromSeconds(90));
    }

    [Theory]
    [InlineData(MlChannels.InProcess)]
    [InlineData(MlChannels.Grpc)]
    public async Task Two_nodes_train_through_the_real_ledger_and_end_on_the_ledgers_final_model(string channel)
    {
        var servers = new List<Node.Files.ParameterFileServer>();
        var hosts = new List<IAsyncDisposable>();
        var parameters = new TrainingParameters(MinPeers: 2, SyncFrequency: 2);
        var timings = new ContractTimings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 2);
        var runs = new List<Task<MergedModel>>();
        var clients = new List<SnLedgerClient>();
        foreach (var (name, seed) in new[] { ("node1", 1), ("node2", 2) })
        {
            var folder = new SvidFolder(Path.Combine(_root, name));
            using (await new IdentityClient(_identityAddress).AttestAsync(JoinToken.Parse(await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_root, "id"), $"spiffe://swarm.local/sl/{name}")), folder)) { }
            var identity = new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
            var ledger = new SnLedgerClient([_api], identity, ECDsa.Create(ECCurve.NamedCurves.nistP256), "swarm.local/main");
            await ledger.RegisterKeyAsync(CancellationToken.None);
            clients.Add(ledger);
            var store = new Node.Files.FileParameterStore(Path.Combine(_root, name, "files"));
            var members = new Node.Files.ContractMembership(ledger, Path.Combine(_root, name));
            var server = await Node.Files.ParameterFileServer.StartAsync(store, identity, "127.0.0.1", 0, members.ProblemAsync, CancellationToken.None);
            servers.Add(server);
            var context = new NodeSessionContext(name, ledger, store, new Node.Files.HttpsParameterTransport(store, identity))
            {
                Address = $"https://127.0.0.1:{server.Port}", Timings = timings, RetryDelay = TimeSpan.FromMilliseconds(200),
                OnRegistered = (contract, _) => members.Registered(contract),
            };
            var (ml, host) = await MlChannels.OpenAsync(channel, new NodeSession(context), store, Path.Combine(_root, name));
            hosts.Add(host);
            var session = new TowardSession(seed);
            var callback = new SwarmCallbackSession(new SwarmParameters(parameters.SyncFrequency, parameters.MinPeers) { TrainingContract = "toy", TotalEpochs = 3 }, session, ml);
            runs.Add(Task.Run(async () =>
            {
                using (callback)
                {
                    return await SwarmProgram.RunAsync(session, callback, 3, null, CancellationToken.None);
                }
            }));
        }
        var finals = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(3));

        var contract = (await clients[0].GetContractAsync("toy", CancellationToken.None))!;
        Assert.Equal(ContractStatus.Completed, contract.Status);
        Assert.True(contract.History.Count >= 3, $"{contract.History.Count} merges");
        Assert.Equal(contract.FinalModel.Hex, finals[0].Sha256);
        Assert.Equal(contract.FinalModel.Hex, finals[1].Sha256);
        Assert.True(File.Exists(Path.Combine(_root, "node2", "files", contract.FinalModel.Hex + ".safetensors")));
        foreach (var client in clients)
        {
            client.Dispose();
        }
        foreach (var disposable in hosts.Concat(servers))
        {
            await disposable.DisposeAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await _sn.DisposeAsync();
        await _identity.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>An ML program in miniature: each batch moves 8 weights a quarter of the way to this node's optimum.</summary>
    private sealed class TowardSession(int seed) : IMlSession
    {
        private float[] _weights = new float[8];

        public int BatchesPerEpoch => 4;

        public Task TrainBatchAsync(CancellationToken cancellationToken)
        {
            for (int i = 0; i < _weights.Length; i++)
            {
                _weights[i] += 0.25f * (seed * (i + 1) - _weights[i]);
            }
            return Task.CompletedTask;
        }

        public ModelState GetParameters() => new([Tensor.FromFloats("w", [_weights.Length], _weights)]);

        public void LoadParameters(ModelState model) => _weights = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(model.Tensors[0].Data).ToArray();

        public Evaluation? Evaluate() => null;
    }
}
