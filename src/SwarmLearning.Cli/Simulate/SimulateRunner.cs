using System.Diagnostics;
using System.Text.Json;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Node;
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
        var shares = Partitioner.Split(train.Labels, options.Nodes, options.Partition, options.Seed);
        var data = shares.Select(train.Select).ToArray();
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
            alone = await TrainAloneAsync(data, validation, test, cancellationToken);
            display.Event($"training one model on all {train.Count} images pooled for {options.Epochs} epochs");
            central = await Task.Run(() => TrainAlone(train, validation, test, options.Seed * 100, threads: Environment.ProcessorCount, cancellationToken), cancellationToken);
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
        var sessions = data.Select((d, i) => new TorchSession(options.Model, d, validation, options.Seed * 100 + i, options.BatchSize,
            options.Recipe(options.Epochs * (long)BatchesPerEpoch(d.Count, data), swarmNode: true))).ToArray();
        try
        {
            // Nodes weigh by their number of images (nodeWeightage), as FedAvg does; see docs/simulate.md.
            var runs = sessions.Select((s, i) => swarm.Start($"node{i + 1:00}", Epochs(s, data), options.Epochs,
                o => o with { Weightage = data[i].Count, TrainEnd = options.TrainEnd })).ToArray();
            var shown = display.ShowAsync(() => { lock (progress) { return [.. progress.Values.OrderBy(p => p.NodeId)]; } }, () => runs.All(r => r.IsCompleted), cancellationToken);
            var finals = await Task.WhenAll(runs);
            await shown;
            sessions[0].LoadParameters(finals[0]);
            double accuracy = sessions[0].Score(test).Metric;
            var hashes = finals.Select(Core.Files.SafetensorsWriter.Hash).Distinct().ToList();
            display.Event($"swarm '{method}': test accuracy {accuracy:P2} after {swarm.State.History.Count} merges in {clock.Elapsed.TotalMinutes:F1} min");
            List<double> curve;
            lock (progress)
            {
                curve = [.. byRound.Values];
            }
            return new SwarmRun(method, accuracy, swarm.State.History.Count, hashes.Count == 1, hashes[0].Hex, curve, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            foreach (var session in sessions)
            {
                session.Dispose();
            }
        }
    }

    /// <summary>With equal steps, an epoch of every node is the average share's number of batches (docs/simulate.md).</summary>
    private Protocol.Ports.IMlSession Epochs(TorchSession session, ImageSet[] data) =>
        options.EqualSteps ? new FixedLengthEpochs(session, EqualBatches(data)) : session;

    private int EqualBatches(ImageSet[] data) => Math.Max(1, (int)Math.Ceiling(data.Average(d => d.Count) / options.BatchSize));

    private int BatchesPerEpoch(int images, ImageSet[] data) =>
        options.EqualSteps ? EqualBatches(data) : Math.Max(1, (images + options.BatchSize - 1) / options.BatchSize);

    private async Task<List<double>> TrainAloneAsync(ImageSet[] data, ImageSet validation, ImageSet test, CancellationToken cancellationToken)
    {
        torch.set_num_threads(1);
        var runs = data.Select((d, i) => Task.Factory.StartNew(() => TrainAlone(d, validation, test, options.Seed * 100 + i, threads: 1, cancellationToken),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        return [.. await Task.WhenAll(runs)];
    }

    private double TrainAlone(ImageSet data, ImageSet validation, ImageSet test, int seed, int threads, CancellationToken cancellationToken)
    {
        torch.set_num_threads(threads);
        int batches = Math.Max(1, (data.Count + options.BatchSize - 1) / options.BatchSize);
        using var session = new TorchSession(options.Model, data, validation, seed, options.BatchSize, options.Recipe(options.Epochs * (long)batches));
        for (int batch = 0; batch < options.Epochs * session.BatchesPerEpoch; batch++)
        {
            session.TrainBatchAsync(cancellationToken).GetAwaiter().GetResult();
        }
        return session.Score(test).Metric;
    }
}
