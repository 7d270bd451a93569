using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Network;
using SwarmLearning.Network.Client;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Node;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;

namespace SwarmLearning.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/SwarmLearning.Bench -- syncround`: the networked sync round. One real SN
/// (Raft ledger, REST API over mTLS) and N SL nodes in one process, each with its own file store on disk, file server
/// (HTTPS, mTLS) and downloader; the round engine is the real SwarmNode. Reports the round time for N = 3, 6 and models
/// of 1M, 10M, 50M float32 parameters next to its floor: the bytes the leader must receive and send, 2 (N-1) x model,
/// over the loopback TLS throughput of one download measured in the same run. Then the wall-time overhead of training
/// in a swarm over the same training alone (Fashion-MNIST CNN, 3 nodes).
/// </summary>
internal static class SyncRoundHarness
{
    private const string Domain = "swarm.local";

    public static async Task RunAsync(int[] nodeCounts, long[] sizes, int rounds = 3)
    {
        string root = Path.Combine(Path.GetTempPath(), "swarm-bench-sync-" + Guid.NewGuid().ToString("N")[..8]);
        using var ca = CertificateAuthority.OpenOrCreate(Path.Combine(root, "ca"), Domain, TimeProvider.System);
        var Identity = Issuer(ca);
        var (sn, sns) = await StartSnAsync(root, Identity);
        await using var _ = sn;

        double throughput = await TlsThroughputAsync(root, Identity, sizes.Max());
        Console.WriteLine($"loopback TLS download throughput (one stream, {sizes.Max() * 4 / 1e6:F0} MB file, best of 3): {throughput / 1e6:F0} MB/s; {Environment.ProcessorCount} cores");
        Console.WriteLine("| nodes | parameters | model MB | round time (median of " + rounds + ") | floor 2(N-1)·size / throughput | ratio |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        int contract = 0;
        foreach (int n in nodeCounts)
        {
            foreach (long size in sizes)
            {
                var nodes = await StartNodesAsync(root, $"r{contract++}", n, Identity, sns);
                var times = await MeasureRoundsAsync(nodes, size, rounds);
                double floor = 2.0 * (n - 1) * size * 4 / throughput;
                double median = times.Order().ElementAt(times.Count / 2);
                Console.WriteLine($"| {n} | {size / 1e6:F0}M | {size * 4 / 1e6:F0} | {median:F2} s | {floor:F2} s | {median / floor:F1} |");
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }
        await TrainingOverheadAsync(root, Identity, sns);
        Directory.Delete(root, recursive: true);
    }

    /// <summary>How many merges of <paramref name="contract"/> were verified by an auditor (a check that the setting took).</summary>
    private static int Audited(Uri[] sns, Func<SpiffeId, ISvidSource> identity, string contract)
    {
        using var ledger = new SnLedgerClient(sns, identity(SpiffeId.Parse($"spiffe://{Domain}/swci/bench")), OperatorKey, Domain + "/main");
        var state = ledger.GetContractAsync(contract, CancellationToken.None).GetAwaiter().GetResult();
        return state?.History.Count(m => m.AuditedBy is { Count: > 0 }) ?? -1;
    }

    // The bench's operator: one identity, one ledger key, for every contract it creates.
    private static readonly System.Security.Cryptography.ECDsa OperatorKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);

    /// <summary>Creates a contract as an operator (the audits' setting is the contract's, not the nodes').</summary>
    private static async Task CreateContractAsync(Uri[] sns, Func<SpiffeId, ISvidSource> identity, CreateContract create)
    {
        using var ledger = new SnLedgerClient(sns, identity(SpiffeId.Parse($"spiffe://{Domain}/swci/bench")), OperatorKey, Domain + "/main");
        await ledger.RegisterKeyAsync(CancellationToken.None);
        (await ledger.SubmitAsync(create, CancellationToken.None)).EnsureAccepted();
    }

    /// <summary>SVIDs of 4 hours from <paramref name="ca"/>, for any identity the bench needs.</summary>
    private static Func<SpiffeId, ISvidSource> Issuer(CertificateAuthority ca)
    {
        var bundle = new TrustBundle([ca.Certificate]);
        return id => new StaticSvidSource(ca.IssueCredential(id, TimeSpan.FromHours(4), DateTimeOffset.UtcNow), bundle);
    }

    private static async Task<(SnHost Host, Uri[] Sns)> StartSnAsync(string root, Func<SpiffeId, ISvidSource> identity)
    {
        var snOptions = new SnOptions
        {
            DataDirectory = Path.Combine(root, "sn"), Identity = identity(SwarmIdentities.SnNode(Domain, "sn1")), LedgerPort = FreePort(), ApiPort = FreePort(),
            FilePort = FreePort(), Sentinel = true, ChainId = Domain + "/main",
        };
        var sn = await SnHost.StartAsync(snOptions, logging => logging.SetMinimumLevel(LogLevel.Warning), CancellationToken.None);
        return (sn, [new Uri(snOptions.ApiUrl)]);
    }

    /// <summary>
    /// `syncround-audit`: the cost of verification. Back-to-back sync rounds (no training between them, so nothing hides
    /// an audit) with verification off and with one auditor per merge, alternating <paramref name="pairs"/> times on the
    /// same SN; then the training overhead (3 nodes, Fashion-MNIST CNN) with both.
    /// </summary>
    public static async Task AuditCostAsync(int nodes, long size, int rounds, int pairs)
    {
        string root = Path.Combine(Path.GetTempPath(), "swarm-bench-audit-" + Guid.NewGuid().ToString("N")[..8]);
        using var ca = CertificateAuthority.OpenOrCreate(Path.Combine(root, "ca"), Domain, TimeProvider.System);
        var Identity = Issuer(ca);
        var (sn, sns) = await StartSnAsync(root, Identity);
        await using var _ = sn;
        Console.WriteLine($"| run | nodes | parameters | round, verification off (median of {rounds}) | round, 1 auditor (median of {rounds}) | ratio |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
        int contract = 0;
        for (int pair = 1; pair <= pairs; pair++)
        {
            var medians = new double[2];
            foreach (int auditors in new[] { 0, 1 })
            {
                string name = $"a{contract++}";
                // The operator sets verification (a registration that creates a contract always gets it on).
                await CreateContractAsync(sns, Identity, new CreateContract(name, new TrainingParameters(nodes, 1, Auditors: auditors), new ContractTimings(TimeSpan.Zero, TimeSpan.FromMinutes(5), 2)));
                var started = await StartNodesAsync(root, name, nodes, Identity, sns, auditors);
                var times = await MeasureRoundsAsync(started, size, rounds);
                medians[auditors] = times.Order().ElementAt(times.Count / 2);
                foreach (var node in started)
                {
                    await node.DisposeAsync();
                }
            }
            Console.WriteLine($"| {pair} | {nodes} | {size / 1e6:F0}M | {medians[0]:F2} s | {medians[1]:F2} s | {medians[1] / medians[0]:F2} |");
            Console.WriteLine($"|   | audits on the ledger: {Audited(sns, Identity, $"a{contract - 2}")} with verification off, {Audited(sns, Identity, $"a{contract - 1}")} with 1 auditor |");
        }
        foreach (int auditors in new[] { 0, 1, 0, 1 })
        {
            await TrainingOverheadAsync(root, Identity, sns, auditors);
        }
        Directory.Delete(root, recursive: true);
    }

    private static async Task<double> TlsThroughputAsync(string root, Func<SpiffeId, ISvidSource> identity, long parameters)
    {
        var serverStore = new FileParameterStore(Path.Combine(root, "tput-server"));
        var hash = await serverStore.PutAsync(RandomModel(parameters, 1), CancellationToken.None);
        await using var server = await ParameterFileServer.StartAsync(serverStore, identity(SwarmIdentities.SlNode(Domain, "tput-a")), "127.0.0.1", 0,
            (_, _) => Task.FromResult<string?>(null), CancellationToken.None); // the wire alone: no contract to check against
        double best = 0;
        for (int i = 0; i < 3; i++)
        {
            var clientStore = new FileParameterStore(Path.Combine(root, $"tput-client-{i}"));
            var transport = new HttpsParameterTransport(clientStore, identity(SwarmIdentities.SlNode(Domain, "tput-b")));
            var clock = Stopwatch.StartNew();
            await transport.FetchAsync(hash, "tput-a", $"https://127.0.0.1:{server.Port}", CancellationToken.None);
            best = Math.Max(best, new FileInfo(clientStore.PathOf(hash)).Length / clock.Elapsed.TotalSeconds);
            Directory.Delete(clientStore.Directory, recursive: true);
        }
        return best;
    }

    private static async Task<List<BenchNode>> StartNodesAsync(string root, string contract, int count, Func<SpiffeId, ISvidSource> identity, Uri[] sns,
        int auditors = TrainingParameters.DefaultAuditors)
    {
        var nodes = new List<BenchNode>();
        for (int i = 0; i < count; i++)
        {
            string name = $"{contract}-n{i}";
            var svid = identity(SwarmIdentities.SlNode(Domain, name));
            var ledger = new SnLedgerClient(sns, svid, System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256), Domain + "/main");
            await ledger.RegisterKeyAsync(CancellationToken.None);
            var store = new FileParameterStore(Path.Combine(root, name));
            var members = new ContractMembership(ledger, Path.Combine(root, name));
            members.Registered(contract);
            var server = await ParameterFileServer.StartAsync(store, svid, "127.0.0.1", 0, members.ProblemAsync, CancellationToken.None);
            var options = new SwarmNodeOptions(name, contract, new TrainingParameters(MinPeers: count, SyncFrequency: 1, Auditors: auditors))
            {
                Address = $"https://127.0.0.1:{server.Port}",
                Timings = new ContractTimings(TimeSpan.Zero, TimeSpan.FromMinutes(5), 2),
                RetryDelay = TimeSpan.FromMilliseconds(100),
            };
            nodes.Add(new BenchNode(new SwarmNode(options, ledger, store, new HttpsParameterTransport(store, svid), TimeProvider.System, NullLogger.Instance), ledger, server, store));
        }
        return nodes;
    }

    private static async Task<List<double>> MeasureRoundsAsync(List<BenchNode> nodes, long size, int rounds)
    {
        var models = nodes.Select((_, i) => RandomModel(size, i + 1)).ToList();
        await Task.WhenAll(nodes.Select((n, i) => n.Node.RegisterAsync(models[i].Signature, CancellationToken.None)));
        // Each node's background duties (auditing merges), as a node session starts them.
        using var duties = new CancellationTokenSource();
        var running = nodes.Select(n => Task.Run(() => n.Node.RunDutiesAsync(duties.Token))).ToList();
        await Task.WhenAll(nodes.Select((n, i) => Task.Run(() => n.Node.InitialSyncAsync(models[i], CancellationToken.None))));
        var times = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (var (model, i) in models.Select((m, i) => (m, i)))
            {
                model.Tensors[0].Data[0] ^= (byte)(round + 1); // a new contribution each round (a new hash)
            }
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(nodes.Select((n, i) => Task.Run(() => n.Node.SyncAsync(models[i], CancellationToken.None))));
            times.Add(clock.Elapsed.TotalSeconds);
        }
        await duties.CancelAsync();
        await Task.WhenAll(running.Select(r => r.ContinueWith(_ => { }, TaskScheduler.Default)));
        return times;
    }

    private static async Task TrainingOverheadAsync(string root, Func<SpiffeId, ISvidSource> identity, Uri[] sns, int auditors = TrainingParameters.DefaultAuditors)
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "train-images-idx3-ubyte.gz")))
        {
            Console.WriteLine("training overhead: skipped (apt-get install dataset-fashion-mnist)");
            return;
        }
        const int Nodes = 3, Epochs = 2, PerNode = 3000, Sync = 10;
        var (train, test) = FashionMnist.Load();
        var shards = Partitioner.Split(train.Labels, Nodes, "iid", 1);
        TorchSession Session(int i) => new("cnn", train.Select(shards[i][..PerNode]), test.Take(500), i + 1);

        var alone = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Nodes).Select(i => Task.Run(async () =>
        {
            using var session = Session(i);
            for (int b = 0; b < Epochs * session.BatchesPerEpoch; b++)
            {
                await session.TrainBatchAsync(CancellationToken.None);
            }
        })));
        alone.Stop();

        string contract = $"train-{Guid.NewGuid():N}"[..14];
        await CreateContractAsync(sns, identity, new CreateContract(contract, new TrainingParameters(Nodes, Sync, Auditors: auditors), new ContractTimings(TimeSpan.Zero, TimeSpan.FromMinutes(5), 2)));
        var nodes = await StartNodesAsync(root, contract, Nodes, identity, sns, auditors);
        var swarm = Stopwatch.StartNew();
        await Task.WhenAll(nodes.Select((n, i) => Task.Run(async () =>
        {
            using var session = Session(i);
            var options = n.Node.Options;
            using var lifetime = new CancellationTokenSource();
            var context = new NodeSessionContext(options.NodeId, n.Ledger, n.Store, new HttpsParameterTransport(n.Store, identity(SwarmIdentities.SlNode(Domain, options.NodeId))))
            {
                Address = options.Address, Timings = options.Timings, RetryDelay = options.RetryDelay, Lifetime = lifetime.Token,
            };
            var parameters = new SwarmParameters(Sync, Nodes) { TrainingContract = options.Contract, TotalEpochs = Epochs };
            using var callback = new SwarmCallbackSession(parameters, session, new InProcessMlChannel(new NodeSession(context)), session.Evaluate);
            await SwarmProgram.RunAsync(session, callback, Epochs, null, CancellationToken.None);
        })));
        swarm.Stop();
        int batches = Epochs * ((PerNode + new TrainingRecipe().BatchSize - 1) / new TrainingRecipe().BatchSize);
        Console.WriteLine($"training overhead ({Nodes} nodes x {PerNode} images x {Epochs} epochs, CNN, sync every {Sync} batches = {batches / Sync} rounds, {(auditors == 0 ? "verification off" : $"{auditors} auditor(s)")}): " +
            $"alone {alone.Elapsed.TotalSeconds:F1} s, in the swarm {swarm.Elapsed.TotalSeconds:F1} s, ratio {swarm.Elapsed.TotalSeconds / alone.Elapsed.TotalSeconds:F2}");
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }
    }

    private static ModelState RandomModel(long parameters, int seed)
    {
        var random = new Random(seed);
        const int Tensors = 8;
        var tensors = new List<Tensor>();
        for (int t = 0; t < Tensors; t++)
        {
            long count = parameters / Tensors + (t == 0 ? parameters % Tensors : 0);
            var floats = new float[count];
            for (long i = 0; i < count; i++)
            {
                floats[i] = (float)(random.NextDouble() - 0.5);
            }
            var bytes = new byte[count * 4];
            Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length);
            tensors.Add(new Tensor($"layer{t}.weight", DType.F32, [count], bytes));
        }
        return new ModelState(tensors);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record BenchNode(SwarmNode Node, SnLedgerClient Ledger, ParameterFileServer Server, FileParameterStore Store) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Ledger.Dispose();
        }
    }
}
