using System.Collections.Concurrent;
using System.Text.Json;
using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Node;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// A whole swarm in one process on real threads and the real protocol code (in-memory ledger and parameter network):
/// label-skewed synthetic data, a softmax classifier per node, optionally a node that crashes and rejoins; then swarm
/// vs. each node alone vs. all data pooled, at equal epochs.
/// </summary>
internal sealed class DemoRunner(DemoOptions options, DemoDisplay display)
{
    private const string Contract = "demo";
    private readonly InMemoryLedger _ledger = new(TimeProvider.System);
    private readonly InMemoryParameterNetwork _network = new();
    private readonly ConcurrentDictionary<string, NodeProgress> _progress = new();

    public async Task<DemoReport> RunAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        Directory.CreateDirectory(options.OutputDirectory);
        using var log = new FileLogger(Path.Combine(options.OutputDirectory, "demo.log"));
        var (train, test) = SyntheticData.Make(options.Seed, trainCount: 1200 * options.Nodes, testCount: 3000);
        var parts = SyntheticData.SplitBySkew(train, options.Nodes, options.Seed);
        var parameters = new TrainingParameters(options.MinPeers, options.SyncFrequency, options.MergeMethod);
        var timings = new ContractTimings(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10), MaxStaleness: 2, TimeSpan.FromSeconds(10));
        _ledger.Submit(new CreateContract(Contract, parameters, timings), "operator", isOperator: true).EnsureAccepted();
        _ledger.Applied += (_, outcome) =>
        {
            foreach (var e in outcome.Events.Where(e => e.Kind is "merged" or "joined" or "registered" or "left" or "completed" or "leader-failed"))
            {
                display.Event(e.Text);
            }
        };

        var runs = new Task<Core.Model.ModelState>[options.Nodes];
        var cancels = new CancellationTokenSource[options.Nodes];
        for (int i = 0; i < options.Nodes; i++)
        {
            (runs[i], cancels[i]) = StartNode(i, parts[i], test, parameters, log, cancellationToken);
        }
        var displayTask = display.ShowAsync(() => _progress.Values.OrderBy(p => p.NodeId).ToList(), () => runs.All(r => r.IsCompleted), cancellationToken);
        if (options.DropOne)
        {
            await DropAndRejoinAsync(runs, cancels, parts, test, parameters, log, cancellationToken);
        }
        var finals = await Task.WhenAll(runs);
        await displayTask;

        var swarmAccuracy = new SoftmaxSession(train, test, 0);
        swarmAccuracy.LoadParameters(finals[0]);
        var alone = parts.Select((part, i) => TrainAlone(part, test, options.Seed + i, options.Epochs)).ToList();
        var central = TrainAlone(train, test, options.Seed, options.Epochs);
        var state = _ledger.Registry.Contracts[Contract];
        var report = new DemoReport(
            options.Nodes, options.MinPeers, options.MergeMethod, options.Epochs,
            swarmAccuracy.Score(test).Metric, [.. alone], central,
            finals.Select(f => SafetensorsWriter.Hash(f).Hex).Distinct().Count() == 1,
            state.History.Count, [.. state.History.Select(m => new MergeSummary(m.Round, m.Leader, m.Contributions.Count, m.Hash.Short))],
            state.FinalModel.Hex);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "report.json"),
            JsonSerializer.Serialize(report, DemoReport.JsonOptions), cancellationToken);
        return report;
    }

    private (Task<Core.Model.ModelState>, CancellationTokenSource) StartNode(
        int index, DataSet data, DataSet validation, TrainingParameters parameters, FileLogger log, CancellationToken cancellationToken)
    {
        string id = $"node{index + 1}";
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _network.SetReachable(id, true);
        var session = new SoftmaxSession(data, validation, options.Seed * 100 + index + _progress.Count);
        var nodeOptions = new SwarmNodeOptions(id, Contract, parameters) { TotalEpochs = options.Epochs, RetryDelay = TimeSpan.FromMilliseconds(200) };
        var node = new SwarmNode(nodeOptions, _ledger.For(id), _network.StoreOf(id), _network.TransportOf(id), TimeProvider.System, log);
        var progress = new Progress(p => _progress[p.NodeId] = p);
        var run = Task.Run(() => SwarmTrainingLoop.RunAsync(node, session, options.Epochs, cancel.Token, progress), CancellationToken.None);
        return (run, cancel);
    }

    /// <summary>Crashes the last node halfway (it stops and its files become unreachable), then restarts it with a fresh model.</summary>
    private async Task DropAndRejoinAsync(Task<Core.Model.ModelState>[] runs, CancellationTokenSource[] cancels, DataSet[] parts,
        DataSet test, TrainingParameters parameters, FileLogger log, CancellationToken cancellationToken)
    {
        int victim = options.Nodes - 1;
        string id = $"node{victim + 1}";
        while (!(_progress.TryGetValue(id, out var p) && p.Epoch >= options.Epochs / 2) && !runs[victim].IsCompleted)
        {
            await Task.Delay(50, cancellationToken);
        }
        await cancels[victim].CancelAsync();
        _network.SetReachable(id, false);
        display.Event($"{id} crashed (simulated kill -9); the others go on without it");
        try
        {
            await runs[victim];
        }
        catch (OperationCanceledException)
        {
        }
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        display.Event($"{id} restarts with a fresh model and rejoins");
        _progress.TryRemove(id, out _);
        (runs[victim], cancels[victim]) = StartNode(victim, parts[victim], test, parameters, log, cancellationToken);
    }

    private static double TrainAlone(DataSet data, DataSet test, int seed, int epochs)
    {
        var session = new SoftmaxSession(data, test, seed);
        for (int b = 0; b < epochs * session.BatchesPerEpoch; b++)
        {
            session.TrainBatchAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        return session.Score(test).Metric;
    }

    private sealed class Progress(Action<NodeProgress> report) : IProgress<NodeProgress>
    {
        public void Report(NodeProgress value) => report(value);
    }
}

/// <summary>One merge, for the report.</summary>
internal sealed record MergeSummary(long Round, string Leader, int Models, string Hash);

/// <summary>What the demo measured.</summary>
internal sealed record DemoReport(
    int Nodes, int MinPeers, string MergeMethod, int Epochs,
    double SwarmAccuracy, IReadOnlyList<double> AloneAccuracy, double CentralAccuracy,
    bool AllNodesHoldTheSameFinalModel, int Rounds, IReadOnlyList<MergeSummary> Merges, string FinalModel)
{
    public static JsonSerializerOptions JsonOptions { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
