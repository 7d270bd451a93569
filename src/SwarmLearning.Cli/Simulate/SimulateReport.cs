using System.Text.Json;

namespace SwarmLearning.Cli.Simulate;

/// <summary>One swarm run with one merge method, under one attack ("none": every node honest; the attackers are named).</summary>
internal sealed record SwarmRun(string MergeMethod, double Accuracy, int Rounds, bool SameFinalModelEverywhere, string FinalModel,
    IReadOnlyList<double> ValidationAccuracyByRound, double Seconds, string Attack = "none", IReadOnlyList<string>? Attackers = null,
    PrivacyRun? Privacy = null, bool Finished = true, int Auditors = 1, VerificationRun? Verification = null);

/// <summary>A run's differential privacy: the contract's settings, each node's check-ins and the ε each spent (as reported to the ledger).</summary>
internal sealed record PrivacyRun(double ClipNorm, double NoiseMultiplier, double Delta, long ExpectedReleases, IReadOnlyDictionary<string, double?> EpsilonByNode);

/// <summary>What `swarm simulate` measured, as written to report.json.</summary>
internal sealed record SimulateReport(
    string Model, string Partition, int Nodes, int MinPeers, int Epochs, int SyncFrequency, int TrainImages, int TestImages,
    IReadOnlyList<int> NodeImages, IReadOnlyList<SwarmRun> Swarms, IReadOnlyList<double>? AloneAccuracy, double? CentralAccuracy, string Command)
{
    public static JsonSerializerOptions JsonOptions { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
