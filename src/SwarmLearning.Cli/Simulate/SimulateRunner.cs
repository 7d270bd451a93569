using System.Diagnostics;
using System.Text.Json;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Session;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;

namespace SwarmLearning.Cli.Simulate;

/// <summary>
/// `swarm simulate`: N nodes in one process on the real protocol code (in-memory ledger and transport), each training
/// a TorchSharp network on its own Fashion-MNIST share; then the same network trained by each node alone and on all the
/// data pooled, for the same number of epochs.
/// </summary>
internal sealed class SimulateRunner(SimulateOptions options, DemoDisplay display)
{
    private const int ValidationImages = 500;

    public async Task<SimulateReport> RunAsync(string command, CancellationToken cancellationToken)
    {
        options.Validate();
        Directory.CreateDirectory(options.OutputDirectory);
        using var log = new FileLogger(Path.Combine(options.OutputDirectory, "simulate.log"));
        var (fullTrain, test) = FashionMnist.Load(options.DataDirectory);
        var train = options.TrainLimit > 0 ? fullTrain.Take(options.TrainLimit) : fullTrain;
        var data = Partitioner.Shares(train, options.Nodes, options.Partition, options.Seed);
        var validation = test.Take(ValidationImages);
        display.Event($"Fashion-MNIST: {train.Count} training images split {options.Partition} over {options.Nodes} nodes ({string.Join(", ", data.Select(d => d.Count))}), {test.Count} test images");

        var swarms = new List<SwarmRun>();
        foreach (string method in options.MergeMethods)
        {
            swarms.Add(await RunSwarmAsync(method, data, validation, test, log, cancellationToken));
        }
        List<double>? alone = null;
        double? central = null;
        if (options.Baselines)
        {
            display.Event($"training each node alone on its own share for {options.Epochs} epochs");
            alone = await Baselines.AloneAsync(options.Model, data, validation, test, options.Seed, options.Recipe, options.Epochs, cancellationToken);
            display.Event($"training one model on all {train.Count} images pooled for {options.Epochs} epochs");
            central = await Baselines.PooledAsync(options.Model, train, validation, test, options.Seed, options.Recipe, options.Epochs, cancellationToken);
        }
        var report = new SimulateReport(options.Model, options.Partition, options.Nodes, options.Quorum, options.Epochs, options.SyncFrequency,
            train.Count, test.Count, [.. data.Select(d => d.Count)], swarms, alone, central, command);
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "report.json"), JsonSerializer.Serialize(report, SimulateReport.JsonOptions), cancellationToken);
        SimulateChart.Save(report, Path.Combine(options.OutputDirectory, "report.png"));
        return report;
    }

    private async Task<SwarmRun> RunSwarmAsync(string method, ImageSet[] data, ImageSet validation, ImageSet test, FileLogger log, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        torch.set_num_threads(1); // one thread per node; the nodes run side by side
        var parameters = new TrainingParameters(options.Quorum, options.SyncFrequency, method);
        var swarm = new InProcessSwarm("fashion-mnist", parameters,
            new ContractTimings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(120), MaxStaleness: 2, TimeSpan.FromSeconds(120)), log);
        var progress = new Dictionary<string, NodeProgress>();
        var byRound = new SortedDictionary<long, double>();
        swarm.Progress += p =>
        {
            lock (progress)
            {
                progress[p.NodeId] = p;
                if (p.Evaluation is { } e && p.NodeId == "node01")
                {
                    byRound[p.Round] = e.Metric;
                }
            }
        };
        swarm.Event += e =>
        {
            if (e.Kind is "merged" or "completed" or "leader-failed" or "late" or "late-dropped")
            {
                display.Event(e.Text);
            }
        };
        display.Event($"swarm with merge '{method}': {options.Nodes} nodes, minPeers {options.Quorum}, {options.Model}, sync every {options.SyncFrequency} batches");
        int[] sizes = [.. data.Select(d => d.Count)];
        var nodes = data.Select((d, i) => NodeTraining.Create(options.Model, d, sizes, i, validation, options.Seed, options.Recipe, options.Epochs, options.EqualSteps)).ToArray();
        try
        {
            // Each node's program trains through the swarm callback and its node session, as deployed; each weighs by its images (sampleCount).
            string trainEnd = options.TrainEnd.ToString().ToLowerInvariant();
            var runs = nodes.Select((n, i) => swarm.Start($"node{i + 1:00}", n.Program, options.Epochs, p => p with { CheckinModelOnTrainEnd = trainEnd })).ToArray();
            var shown = display.ShowAsync(() => { lock (progress) { return [.. progress.Values.OrderBy(p => p.NodeId)]; } }, () => runs.All(r => r.IsCompleted), cancellationToken);
            var finals = await Task.WhenAll(runs);
            await shown;
            double accuracy = nodes[0].Session.Score(test).Metric; // the callback left the final swarm model loaded
            var hashes = finals.Select(f => f.Sha256).Distinct().ToList();
            display.Event($"swarm '{method}': test accuracy {accuracy:P2} after {swarm.State.History.Count} merges in {clock.Elapsed.TotalMinutes:F1} min");
            List<double> curve;
            lock (progress)
            {
                curve = [.. byRound.Values];
            }
            return new SwarmRun(method, accuracy, swarm.State.History.Count, hashes.Count == 1, hashes[0], curve, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Session.Dispose();
            }
        }
    }
}
