namespace SwarmLearning.Cli.Up;

/// <summary>What `swarm up` runs: 3 SNs and <paramref name="Nodes"/> SL nodes training the Fashion-MNIST CNN.</summary>
internal sealed record UpOptions(int Nodes, int Epochs, int ImagesPerNode, int TestImages, int SyncFrequency, string Partition, string Home);
