using System.Text.Json;

namespace SwarmLearning.Cli.Simulate;

/// <summary>One swarm run with one merge method.</summary>
internal sealed record SwarmRun(string MergeMethod, double Accuracy, int Rounds, bool SameFinalModelEverywhere, string FinalModel,
    IReadOnlyList<double> ValidationAccuracyByRound, double Seconds);

/// <summary>What `swarm simulate` measured, as written to report.json.</summary>
internal sealed record SimulateReport(
    string Model, string Partition, int Nodes, int MinPeers, int Epochs, int SyncFrequency, int TrainImages, int TestImages,
    IReadOnlyList<int> NodeImages, IReadOnlyList<SwarmRun> Swarms, IReadOnlyList<double>? AloneAccuracy, double? CentralAccuracy, string Command)
{
    public static JsonSerializerOptions JsonOptions { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
