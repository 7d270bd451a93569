using System.Diagnostics;
using System.Text.Json;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Core.Privacy;
using SwarmLearning.Protocol.Attacks;
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
        foreach (int auditors in options.Auditors)
        {
            foreach (var attack in options.Attacks)
            {
                foreach (string method in options.MergeMethods)
                {
                    swarms.Add(await RunSwarmAsync(method, attack, auditors, data, validation, test, log, cancellationToken));
                }
            }
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

    /// <summary>The contract's DP settings (null: off) and the check-ins each node is expected to make: one per sync plus the last.</summary>
    private (DifferentialPrivacy? Settings, long Releases) Privacy(int[] sizes)
    {
        if (options.DpClip == 0)
        {
            return (null, 0);
        }
        int batches = options.EqualSteps ? NodeTraining.EqualBatches(sizes, options.BatchSize) : (sizes.Max() + options.BatchSize - 1) / options.BatchSize;
        long releases = options.Epochs * (long)batches / options.SyncFrequency + 1;
        double sigma = options.DpNoise > 0 ? options.DpNoise : RdpAccountant.NoiseFor(options.DpEpsilon, options.DpDelta, releases);
        return (new DifferentialPrivacy(options.DpClip, sigma, options.DpDelta), releases);
    }

    private bool Attacked(Attack attack, int index) => attack.Kind == AttackKind.LabelFlip && attack.IsAttacker(index, options.Nodes);

    private async Task<SwarmRun> RunSwarmAsync(string method, Attack attack, int auditors, ImageSet[] data, ImageSet validation, ImageSet test, FileLogger log, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        torch.set_num_threads(1); // one thread per node; the nodes run side by side
        int[] sizes = [.. data.Select(d => d.Count)];
        var (privacy, releases) = Privacy(sizes);
        var parameters = new TrainingParameters(options.Quorum, options.SyncFrequency, method, Privacy: privacy, Auditors: auditors);
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
        var verification = new VerificationTally();
        swarm.Ledger.Applied += (tx, outcome) => verification.Applied(tx, outcome);
        swarm.Event += e =>
        {
            if (e.Kind is "merged" or "completed" or "leader-failed" or "late" or "late-dropped" or "rejected" or "byzantine" or "audit-escalated")
            {
                display.Event(e.Text);
            }
        };
        string[] ids = [.. data.Select((_, i) => $"node{i + 1:00}")];
        string[] attackers = [.. ids.Where((_, i) => attack.IsAttacker(i, ids.Length))];
        string under = attackers.Length == 0 ? "" : $", attacked by {string.Join(", ", attackers)} ({attack})";
        display.Event($"swarm with merge '{method}': {options.Nodes} nodes, minPeers {options.Quorum}, {options.Model}, sync every {options.SyncFrequency} batches, " +
            $"{(auditors == 0 ? "verification off" : $"{auditors} auditor(s) per merge")}{under}");
        if (privacy is not null)
        {
            display.Event(FormattableString.Invariant($"differential privacy: updates clipped to {privacy.ClipNorm}, noise sigma {privacy.NoiseMultiplier:g4}, about {releases} check-ins per node, delta {privacy.Delta}"));
        }
        var nodes = data.Select((d, i) => NodeTraining.Create(options.Model, Attacked(attack, i) ? d.WithLabels(l => (byte)(9 - l)) : d,
            sizes, i, validation, options.Seed, options.Recipe, options.Epochs, options.EqualSteps)).ToArray();
        var coordinator = new LittleIsEnough(options.Nodes, attack.Count);
        try
        {
            // Each node's program trains through the swarm callback and its node session, as deployed; each weighs by its images (sampleCount).
            string trainEnd = options.TrainEnd.ToString().ToLowerInvariant();
            // An attacker is a real node: only its program lies (what it hands its node, or the labels it trains on).
            Func<IMlChannel, IMlChannel>? Program(int i) => attack.IsAttacker(i, ids.Length) && attack.ProgramAttack is not (AttackKind.LabelFlip or AttackKind.None)
                ? channel => new AttackingChannel(channel, attack.ProgramAttack, options.Seed * 1000 + i, coordinator)
                : null;
            // A leader that lies, a node that votes twice, or a file server that drips: the node itself misbehaves.
            var colluders = attackers.ToHashSet(StringComparer.Ordinal);
            ByzantineNode? Node(int i) => attack.IsAttacker(i, ids.Length) && ByzantineNode.Needed(attack.Kind) ? new ByzantineNode(attack.Kind, colluders, options.Seed * 1000 + i) : null;
            foreach (string dripping in attack.Kind == AttackKind.Drip ? attackers : [])
            {
                swarm.Network.SetDripping(dripping, true);
            }
            if (options.CutLink is var (a, b))
            {
                swarm.Network.SetLinkCut(a, b, true);
                display.Event($"the link between {a} and {b} is cut for the whole run");
            }
            if (options.SlowNode is var (slow, delay))
            {
                swarm.Network.SetSlow(slow, delay);
                display.Event($"every file {slow} serves arrives {delay.TotalSeconds:0.#} s late");
            }
            var runs = nodes.Select((n, i) => swarm.Start(ids[i], n.Program, options.Epochs, p => p with { CheckinModelOnTrainEnd = trainEnd }, program: Program(i), byzantine: Node(i))).ToArray();
            var shown = display.ShowAsync(() => { lock (progress) { return [.. progress.Values.OrderBy(p => p.NodeId)]; } }, () => runs.All(r => r.IsCompleted), cancellationToken);
            var all = Task.WhenAll(runs);
            bool finished = await Task.WhenAny(all, Task.Delay(options.RunLimit ?? Timeout.InfiniteTimeSpan, cancellationToken)) == all;
            if (!finished)
            {
                display.Event($"swarm '{method}'{under}: stopped after {options.RunLimit!.Value.TotalMinutes:0.#} min (--run-limit) at round {swarm.State.Round.Number}: the run stalled");
                await swarm.StopAllAsync();
            }
            await shown;
            double accuracy = nodes[0].Session.Score(test).Metric; // the callback left the final swarm model loaded (or, stalled, the model it holds)
            var hashes = finished ? (await all).Select(f => f.Sha256).Distinct().ToList() : [""];
            display.Event($"swarm '{method}'{under}: test accuracy {accuracy:P2} after {swarm.State.History.Count} merges in {clock.Elapsed.TotalMinutes:F1} min");
            List<double> curve;
            lock (progress)
            {
                curve = [.. byRound.Values];
            }
            var spent = privacy is null ? null : new PrivacyRun(privacy.ClipNorm, privacy.NoiseMultiplier, privacy.Delta, releases,
                swarm.State.Nodes.Values.ToDictionary(n => n.NodeId, n => n.Progress?.Epsilon)); // null: the node never reported
            return new SwarmRun(method, accuracy, swarm.State.History.Count, finished && hashes.Count == 1, hashes[0], curve, clock.Elapsed.TotalSeconds, attack.ToString(), attackers, spent, finished,
                auditors, verification.Summary(swarm.State, attackers));
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
