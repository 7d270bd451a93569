using SwarmLearning.TorchSharp;

namespace SwarmLearning.Cli.Up;

/// <summary>What `swarm up` runs: 3 SNs and <paramref name="Nodes"/> SL nodes training the Fashion-MNIST CNN with the default <see cref="TrainingRecipe"/>.</summary>
// ImagesPerNode: a seeded sample of each node's share; 0: the whole share (as `swarm simulate`). MinPeers: the quorum.
// Auditors: drawn per merge to recompute it (0: verification off); the contract is created with it before the nodes start.
internal sealed record UpOptions(int Nodes, int Epochs, int ImagesPerNode, int TestImages, int SyncFrequency, string Partition, string Home, int MinPeers, int Seed, string Merge,
    int Auditors = Protocol.Contract.TrainingParameters.DefaultAuditors)
{
    /// <summary>How every node trains (and the baselines, without swarm levers).</summary>
    public TrainingRecipe Recipe { get; } = new();
}
