using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// The node session (what happens to a checked-in model and to a merged one), tested once in process and once over the
/// real ML channel (gRPC on a Unix socket, models as files): the same calls must give the same results.
/// </summary>
public sealed class NodeSessionChannelTests : IDisposable
{
    private const string Contract = "channels";
    private readonly string _root = Directory.CreateTempSubdirectory("sl-channels-").FullName;
    private readonly InMemoryLedger _ledger = new(TimeProvider.System);
    private readonly Dictionary<string, FileParameterStore> _stores = [];
    private readonly List<IAsyncDisposable> _hosts = [];

    public NodeSessionChannelTests() =>
        _ledger.Submit(new CreateContract(Contract, new TrainingParameters(MinPeers: 2, SyncFrequency: 2), new ContractTimings(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(20), 2)),
            "operator", isOperator: true).EnsureAccepted();

    [Theory]
    [InlineData(MlChannels.InProcess)]
    [InlineData(MlChannels.Grpc)]
    public async Task Two_programs_end_on_the_contracts_final_model_weighed_by_weightage_times_samples(string kind)
    {
        var a = await OpenAsync(kind, "a");
        var b = await OpenAsync(kind, "b");
        var runs = new[]
        {
            RunAsync(a, new Toward(1, samples: 300), Parameters()),
            RunAsync(b, new Toward(2, samples: 100), Parameters() with { NodeWeightage = 2 }),
        };
        var finals = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(2));

        var state = _ledger.Registry.Contracts[Contract];
        Assert.Equal(ContractStatus.Completed, state.Status);
        Assert.All(finals, f => Assert.Equal(state.FinalModel.Hex, f.Sha256));
        var weights = state.History[1].Contributions.ToDictionary(c => c.NodeId, c => c.WeightMicros / TrainingContract.WeightScale);
        Assert.Equal(300, weights["a"]); // nodeWeightage 1 x 300 samples
        Assert.Equal(200, weights["b"]); // nodeWeightage 2 x 100 samples
        if (kind == MlChannels.Grpc)
        {
            Assert.All(finals, f => Assert.Equal(_stores[f == finals[0] ? "a" : "b"].PathOf(ContentHash.Parse(f.Sha256)), f.Path)); // the node's own file, by path
        }
    }

    [Theory]
    [InlineData(MlChannels.InProcess, "nodeWeightage must be between 1 and 100 (got 101)")]
    [InlineData(MlChannels.Grpc, "nodeWeightage must be between 1 and 100 (got 101)")]
    [InlineData(MlChannels.InProcess, "checkinModelOnTrainEnd must be inactive, snapshot or active (got 'sometimes')")]
    [InlineData(MlChannels.Grpc, "checkinModelOnTrainEnd must be inactive, snapshot or active (got 'sometimes')")]
    [InlineData(MlChannels.InProcess, "minPeers must be at least 1 (got 0)")]
    [InlineData(MlChannels.Grpc, "minPeers must be at least 1 (got 0)")]
    [InlineData(MlChannels.InProcess, "sampleCount cannot be negative (got -5)")]
    [InlineData(MlChannels.Grpc, "sampleCount cannot be negative (got -5)")]
    [InlineData(MlChannels.InProcess, "dpNoiseMultiplier must be positive, at most 1e6 (got 0)")]
    [InlineData(MlChannels.Grpc, "dpNoiseMultiplier must be positive, at most 1e6 (got 0)")]
    [InlineData(MlChannels.InProcess, "differential privacy is clip 1, noise 2, delta 1e-05 on this node but contract 'channels' uses off")]
    [InlineData(MlChannels.Grpc, "differential privacy is clip 1, noise 2, delta 1e-05 on this node but contract 'channels' uses off")]
    public async Task Parameters_that_cannot_work_are_refused_with_the_same_message(string kind, string message)
    {
        var parameters = message.Split(' ')[0] switch
        {
            "nodeWeightage" => Parameters() with { NodeWeightage = 101 },
            "checkinModelOnTrainEnd" => Parameters() with { CheckinModelOnTrainEnd = "sometimes" },
            "minPeers" => new SwarmParameters(2, 0) { TrainingContract = Contract },
            "dpNoiseMultiplier" => Parameters() with { DpClipNorm = 1 },
            "differential" => Parameters() with { DpClipNorm = 1, DpNoiseMultiplier = 2 },
            _ => Parameters() with { SampleCount = -5 },
        };
        using var channel = await OpenAsync(kind, "a");
        var error = await Assert.ThrowsAnyAsync<SwarmException>(() => channel.RegisterAsync(parameters, new Toward(1, 10).GetParameters(), default));
        Assert.Contains(message, error.Message);
        Assert.False(_ledger.Registry.Contracts[Contract].Nodes.ContainsKey("a"));
    }

    [Theory]
    [InlineData(MlChannels.InProcess)]
    [InlineData(MlChannels.Grpc)]
    public async Task A_sync_before_registering_is_refused(string kind)
    {
        using var channel = await OpenAsync(kind, "a");
        var error = await Assert.ThrowsAnyAsync<SwarmException>(() => channel.SyncAsync(SyncKind.Initial, new Toward(1, 10).GetParameters(), 0, false, default));
        Assert.Contains("register first", error.Message);
    }

    [Theory]
    [InlineData(MlChannels.InProcess)]
    [InlineData(MlChannels.Grpc)]
    public async Task A_model_whose_layout_changed_after_registering_is_refused_naming_the_tensor(string kind)
    {
        using var channel = await RegisteredAsync(kind);
        var other = new ModelState([Tensor.FromFloats("w", [4], new float[4])]);
        var error = await Assert.ThrowsAnyAsync<SwarmException>(() => channel.SyncAsync(SyncKind.Initial, other, 0, false, default));
        Assert.Contains("differs from the one registered", error.Message);
        Assert.Contains("'w'", error.Message);
    }

    [Theory]
    [InlineData(MlChannels.InProcess)]
    [InlineData(MlChannels.Grpc)]
    public async Task A_validation_that_is_not_a_number_is_left_out_not_refused(string kind)
    {
        using var channel = await RegisteredAsync(kind);
        Assert.Equal(2, await channel.ReportAsync(0, new Evaluation(double.NaN, double.NaN), default)); // a diverged model, or no metric
        Assert.Equal(2, await channel.ReportAsync(0, new Evaluation(0.5, double.PositiveInfinity), default));
    }

    private static SwarmParameters Parameters() => new(SyncFrequency: 2, MinPeers: 2) { TrainingContract = Contract, TotalEpochs = 2 };

    private static async Task<MergedModel> RunAsync(IMlChannel channel, Toward program, SwarmParameters parameters)
    {
        using var callback = new SwarmCallbackSession(parameters, program, channel, program.Evaluate);
        return await Task.Run(() => SwarmProgram.RunAsync(program, callback, 2, null, CancellationToken.None));
    }

    private async Task<IMlChannel> RegisteredAsync(string kind)
    {
        var channel = await OpenAsync(kind, "a");
        await channel.RegisterAsync(Parameters(), new Toward(1, 10).GetParameters(), default);
        return channel;
    }

    private async Task<IMlChannel> OpenAsync(string kind, string node)
    {
        var store = new FileParameterStore(Path.Combine(_root, node, "files"));
        _stores[node] = store;
        var context = new NodeSessionContext(node, _ledger.For(node), store, new LocalFileTransport(store, _stores)) { RetryDelay = TimeSpan.FromMilliseconds(100) };
        var (channel, host) = await MlChannels.OpenAsync(kind, new NodeSession(context), store, Path.Combine(_root, node));
        _hosts.Add(host);
        return channel;
    }

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Fetches from the other nodes' folders on this machine (the in-memory network's twin for file stores).</summary>
    private sealed class LocalFileTransport(FileParameterStore local, IReadOnlyDictionary<string, FileParameterStore> peers) : IParameterTransport
    {
        public async Task FetchAsync(ContentHash hash, string peerNodeId, string? peerAddress, CancellationToken cancellationToken)
        {
            if (!peers.TryGetValue(peerNodeId, out var peer) || !peer.Contains(hash))
            {
                throw new PeerUnavailableException($"node '{peerNodeId}' does not hold {hash.Short}");
            }
            if (await local.PutAsync(await peer.GetAsync(hash, cancellationToken), cancellationToken) != hash)
            {
                throw new PeerUnavailableException($"node '{peerNodeId}' sent a file whose hash is not {hash.Short}");
            }
        }
    }

    /// <summary>A program in miniature: each batch moves 8 weights a quarter of the way to this node's optimum.</summary>
    private sealed class Toward(int seed, long samples) : IMlSession
    {
        private float[] _weights = new float[8];

        public int BatchesPerEpoch => 4;

        public long SampleCount => samples;

        public Task TrainBatchAsync(CancellationToken cancellationToken)
        {
            for (int i = 0; i < _weights.Length; i++)
            {
                _weights[i] += 0.25f * (seed * (i + 1) - _weights[i]);
            }
            return Task.CompletedTask;
        }

        public ModelState GetParameters() => new([Tensor.FromFloats("w", [_weights.Length], _weights), Tensor.FromFloats("b", [1], [seed])]);

        public void LoadParameters(ModelState model) => _weights = model["w"].AsSpan<float>().ToArray();

        public Evaluation? Evaluate() => new(_weights.Sum(w => (double)w * w), 0);
    }
}
