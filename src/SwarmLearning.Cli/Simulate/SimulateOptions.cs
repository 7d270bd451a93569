using SwarmLearning.Core;
using SwarmLearning.Core.Merging;
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
        foreach (string method in MergeMethods)
        {
            Core.Merging.MergeMethods.Parse(method);
        }
        Partitioner.CheckSpecification(Partition);
    }
}
