using SwarmLearning.Cli.Simulate;

namespace SwarmLearning.Cli.Up;

/// <summary>One merge on the ledger.</summary>
internal sealed record MergeEntry(long Round, string Leader, string Model, int Contributions);

/// <summary>What the ledger says about the training: merges with their leaders, the final model, whether the chain verifies.</summary>
internal sealed record LedgerSummary(string Contract, string Status, int Height, IReadOnlyList<MergeEntry> Merges, string? FinalModel, bool ChainVerifies, string VerifyMessage);

/// <summary>report.json of `swarm up`.</summary>
/// <param name="Accuracy">The swarm's and the baselines' test accuracy.</param>
/// <param name="Ledger">What the ledger says.</param>
/// <param name="NodeFinalModels">The final model each node's program reported.</param>
/// <param name="Seconds">The whole run, baselines included.</param>
/// <param name="TrainingSeconds">The swarm's training: from the last node's start to the last program's end.</param>
internal sealed record UpReport(SimulateReport Accuracy, LedgerSummary Ledger, IReadOnlyDictionary<string, string> NodeFinalModels, double Seconds, double TrainingSeconds = 0);
