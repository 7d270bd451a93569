using SwarmLearning.Core;
using SwarmLearning.Core.Merging;
using SwarmLearning.Protocol.Attacks;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using SwarmLearning.TorchSharp.Models;

namespace SwarmLearning.Cli.Simulate;

/// <summary>What `swarm simulate` runs.</summary>
internal sealed record SimulateOptions
{
    public int Nodes { get; init; } = 6;
    public int? MinPeers { get; init; }
    public IReadOnlyList<string> MergeMethods { get; init; } = ["mean"];
    public IReadOnlyList<Attack> Attacks { get; init; } = [Attack.None];
    public string Model { get; init; } = "cnn";
    public string Partition { get; init; } = "dirichlet:0.5";
    public int Epochs { get; init; } = 10;
    public int SyncFrequency { get; init; } = 10;
    // The defaults are TrainingRecipe's: the recipe measured best for a swarm under label skew (docs/simulate.md).
    public int BatchSize { get; init; } = DefaultRecipe.BatchSize;
    public double LearningRate { get; init; } = DefaultRecipe.LearningRate;
    public string Optimizer { get; init; } = DefaultRecipe.Optimizer;
    public string Schedule { get; init; } = DefaultRecipe.Schedule;
    public int TrainLimit { get; init; }
    public int Seed { get; init; } = 1;
    public bool Baselines { get; init; } = true;
    public TrainEndPolicy TrainEnd { get; init; } = TrainEndPolicy.Snapshot;
    public bool EqualSteps { get; init; } = true;
    public bool ResetOptimizer { get; init; }
    public double Proximal { get; init; }
    public bool ControlVariates { get; init; }
    public bool LogitAdjust { get; init; }
    /// <summary>Differential privacy: the update clipping norm C (0: off).</summary>
    public double DpClip { get; init; }
    /// <summary>Differential privacy: σ; 0 with <see cref="DpEpsilon"/> set: the σ that spends that budget over the run.</summary>
    public double DpNoise { get; init; }
    public double DpEpsilon { get; init; }
    public double DpDelta { get; init; } = 1e-5;
    /// <summary>Two nodes whose link is cut for the whole run (null: none).</summary>
    public (string A, string B)? CutLink { get; init; }

    /// <summary>A node whose files arrive late, and by how much (null: none).</summary>
    public (string Node, TimeSpan Delay)? SlowNode { get; init; }

    /// <summary>Auditors per merge to compare (0: verification off).</summary>
    public IReadOnlyList<int> Auditors { get; init; } = [TrainingParameters.DefaultAuditors];

    /// <summary>A swarm run still going after this long is stopped and reported as stalled (null: no limit).</summary>
    public TimeSpan? RunLimit { get; init; }
    public string DataDirectory { get; init; } = FashionMnist.DefaultDirectory;
    public string OutputDirectory { get; init; } = Path.Combine("out", "simulate");

    /// <summary>The quorum: every node unless set.</summary>
    public int Quorum => MinPeers ?? Nodes;

    private static readonly TrainingRecipe DefaultRecipe = new();

    /// <summary>How every node trains (the baselines train its <see cref="TrainingRecipe.Plain"/> form).</summary>
    public TrainingRecipe Recipe => new(Optimizer, LearningRate, Schedule, ResetOnLoad: ResetOptimizer, Proximal: Proximal, ControlVariates: ControlVariates,
        LogitAdjust: LogitAdjust, BatchSize: BatchSize);

    /// <summary>Throws a <see cref="SwarmException"/> saying what to change when the options cannot work.</summary>
    public void Validate()
    {
        if (Nodes < 1)
        {
            throw new SwarmException($"--nodes must be at least 1 (got {Nodes})");
        }
        if (Quorum < 1 || Quorum > Nodes)
        {
            throw new SwarmException($"--min-peers is {Quorum} but there are {Nodes} nodes: the training would wait forever at the first sync. Use a value from 1 to {Nodes}");
        }
        if (Epochs < 1 || SyncFrequency < 1 || BatchSize < 1 || !(LearningRate > 0))
        {
            throw new SwarmException("--epochs, --sync-frequency, --batch-size and --lr must be positive");
        }
        if (!ModelZoo.Help.Split(", ").Contains(Model.ToLowerInvariant()))
        {
            throw new SwarmException($"unknown model '{Model}'; use one of: {ModelZoo.Help}");
        }
        Recipe.Validate();
        if (Auditors.Count == 0 || Auditors.Any(a => a is < 0 or > TrainingParameters.MaxAuditors))
        {
            throw new SwarmException($"--auditors must be 0 (verification off) to {TrainingParameters.MaxAuditors}");
        }
        foreach (string method in MergeMethods)
        {
            Core.Merging.MergeMethods.Parse(method);
        }
        Partitioner.CheckSpecification(Partition);
        if (DpClip < 0 || DpNoise < 0 || DpEpsilon < 0 || !double.IsFinite(DpClip + DpNoise + DpEpsilon))
        {
            throw new SwarmException("--dp-clip, --dp-noise and --dp-epsilon cannot be negative");
        }
        if (DpClip == 0 && (DpNoise > 0 || DpEpsilon > 0))
        {
            throw new SwarmException("differential privacy needs --dp-clip (the update norm bound C), e.g. --dp-clip 1");
        }
        if (DpClip > 0 && (DpNoise > 0) == (DpEpsilon > 0))
        {
            throw new SwarmException("with --dp-clip give either --dp-noise (sigma) or --dp-epsilon (the budget the run may spend), not both or neither");
        }
        if (DpClip > 0 && !(DpDelta > 0 && DpDelta < 1))
        {
            throw new SwarmException($"--dp-delta must be between 0 and 1, e.g. 1e-5 (got {DpDelta})");
        }
        if (DpClip > 0 && Attacks.Any(a => a.Kind != AttackKind.None))
        {
            throw new SwarmException("--attack and differential privacy cannot be combined: the attackers' models would be clipped and noised by their own nodes, which a real attacker would skip; measure them apart");
        }
        foreach (var attack in Attacks)
        {
            if (attack.Problem(Nodes) is { } problem)
            {
                throw new SwarmException(problem);
            }
        }
        foreach (string method in MergeMethods)
        {
            if (Core.Merging.MergeMethods.Parse(method) is IRobustMerge robust && Quorum < robust.MinimumModels)
            {
                throw new SwarmException($"merge method '{method}' assumes {robust.Assumption}, but a round may merge only {Quorum} models (--min-peers); use more nodes or a lower f");
            }
        }
    }
}
