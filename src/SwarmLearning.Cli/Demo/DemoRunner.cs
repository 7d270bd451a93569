using System.Collections.Concurrent;
using System.Text.Json;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Cli.Demo;

/// <summary>
/// A whole swarm in one process on real threads and the real protocol code (in-memory ledger and parameter network):
/// label-skewed synthetic data, a softmax classifier per node, optionally a node that crashes and rejoins; then swarm
/// vs. each node alone vs. all data pooled, at equal epochs.
/// </summary>
internal sealed class DemoRunner(DemoOptions options, DemoDisplay display)
{
    private readonly ConcurrentDictionary<string, NodeProgress> _progress = new();

    public async Task<DemoReport> RunAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        Directory.CreateDirectory(options.OutputDirectory);
        using var log = new FileLogger(Path.Combine(options.OutputDirectory, "demo.log"));
        var (train, test) = SyntheticData.Make(options.Seed, trainCount: 1200 * options.Nodes, testCount: 3000);
        var parts = SyntheticData.SplitBySkew(train, options.Nodes, options.Seed);
        var swarm = new InProcessSwarm("demo", new TrainingParameters(options.MinPeers, options.SyncFrequency, options.MergeMethod),
            new ContractTimings(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10), MaxStaleness: 2, TimeSpan.FromSeconds(10)), log);
        swarm.Event += e =>
        {
            if (e.Kind is "merged" or "registered" or "left" or "completed" or "leader-failed")
            {
                display.Event(e.Text);
            }
        };
        swarm.Progress += p => _progress[p.NodeId] = p;

        var runs = new Task<MergedModel>[options.Nodes];
        var sessions = new SoftmaxSession[options.Nodes];
        for (int i = 0; i < options.Nodes; i++)
        {
            runs[i] = Start(swarm, sessions, i, parts[i], test);
        }
        var displayTask = display.ShowAsync(() => _progress.Values.OrderBy(p => p.NodeId).ToList(), () => runs.All(r => r.IsCompleted), cancellationToken);
        if (options.DropOne)
        {
            int victim = options.Nodes - 1;
            if (await DropAsync(swarm, victim, runs, cancellationToken))
            {
                runs[victim] = Start(swarm, sessions, victim, parts[victim], test);
            }
        }
        var finals = await Task.WhenAll(runs);
        await displayTask;

        var swarmAccuracy = sessions[0]; // the callback left the final swarm model loaded
        var alone = parts.Select((part, i) => TrainAlone(part, test, options.Seed + i, options.Epochs)).ToList();
        var central = TrainAlone(train, test, options.Seed, options.Epochs);
        var state = swarm.State;
        var report = new DemoReport(
            options.Nodes, options.MinPeers, options.MergeMethod, options.Epochs,
            swarmAccuracy.Score(test).Metric, [.. alone], central,
            finals.Select(f => f.Sha256).Distinct().Count() == 1,
            state.History.Count, [.. state.History.Select(m => new MergeSummary(m.Round, m.Leader, m.Contributions.Count, m.Hash.Short))],
            state.FinalModel.Hex);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "report.json"),
            JsonSerializer.Serialize(report, DemoReport.JsonOptions), cancellationToken);
        return report;
    }

    private Task<MergedModel> Start(InProcessSwarm swarm, SoftmaxSession[] sessions, int index, DataSet data, DataSet validation)
    {
        sessions[index] = new SoftmaxSession(data, validation, options.Seed * 100 + index + _progress.Count);
        return swarm.Start($"node{index + 1}", sessions[index], options.Epochs);
    }

    /// <summary>
    /// Crashes a node halfway (it stops and its files become unreachable) and returns true, for the caller to restart it
    /// with a fresh model; returns false if the node finished before it could be crashed.
    /// </summary>
    private async Task<bool> DropAsync(InProcessSwarm swarm, int victim, Task<MergedModel>[] runs, CancellationToken cancellationToken)
    {
        string id = $"node{victim + 1}";
        while (!(_progress.TryGetValue(id, out var p) && p.Epoch >= options.Epochs / 2) && !runs[victim].IsCompleted)
        {
            await Task.Delay(10, cancellationToken);
        }
        if (runs[victim].IsCompleted)
        {
            display.Event($"{id} finished before it could be crashed; use more --epochs to see a crash and rejoin");
            return false;
        }
        await swarm.CrashAsync(id);
        display.Event($"{id} crashed (simulated kill -9); the others go on without it");
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        display.Event($"{id} restarts with a fresh model and rejoins");
        _progress.TryRemove(id, out _);
        return true;
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
