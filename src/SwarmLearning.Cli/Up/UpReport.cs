using SwarmLearning.Cli.Simulate;

namespace SwarmLearning.Cli.Up;

/// <summary>One merge on the ledger.</summary>
internal sealed record MergeEntry(long Round, string Leader, string Model, int Contributions);

/// <summary>What the ledger says about the training: merges with their leaders, the final model, whether the chain verifies.</summary>
internal sealed record LedgerSummary(string Contract, string Status, int Height, IReadOnlyList<MergeEntry> Merges, string? FinalModel, bool ChainVerifies, string VerifyMessage);

/// <summary>report.json of `swarm up`.</summary>
internal sealed record UpReport(SimulateReport Accuracy, LedgerSummary Ledger, IReadOnlyDictionary<string, string> NodeFinalModels, double Seconds);
