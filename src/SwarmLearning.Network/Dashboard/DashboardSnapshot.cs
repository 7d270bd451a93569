namespace SwarmLearning.Network.Dashboard;

/// <summary>Everything the dashboard shows at one moment; the page renders it whole (sent as JSON over server-sent events).</summary>
public sealed record DashboardSnapshot(
    DateTimeOffset At,
    string Operator,
    IReadOnlyList<SnView> Sns,
    LedgerView Ledger,
    IReadOnlyList<ContractView> Contracts,
    SeatsView? Seats,
    IReadOnlyList<string> Problems);

/// <summary>One SN as its health endpoint reports it (or why it did not answer).</summary>
public sealed record SnView(string Api, string? Id, long Height, string? Head, bool IsLeader, string Status);

/// <summary>The ledger across SNs: the highest block, its hash, and whether every SN that answered agrees on the chain.</summary>
public sealed record LedgerView(long Height, string? Head, string Verification);

/// <summary>A training contract: its round, nodes, merges and the curves of its nodes' reports.</summary>
public sealed record ContractView(
    string Name, string Status, long Round, string Phase, string? Leader, int MinPeers, int SyncFrequency, string Merge,
    IReadOnlyList<NodeView> Nodes, IReadOnlyList<MergeView> Merges, int MergeCount, double? BestMetric, double? LastLoss,
    DateTimeOffset? FirstMerge, DateTimeOffset? LastMerge, string? FinalModel, string? Privacy = null, int Auditors = 0);

/// <summary>An SL node of a contract. State: alive (seen lately), late (silent for a while), dropped (left), finished, Byzantine (and why).</summary>
public sealed record NodeView(
    string Id, string State, bool IsLeader, long? Round, int EpochsDone, int TotalEpochs, double? Loss, double? Metric,
    DateTimeOffset? LastAlive, IReadOnlyList<CurvePoint> Curve, double? Epsilon = null, string? Byzantine = null);

/// <summary>A node's reported loss and metric at a round.</summary>
public sealed record CurvePoint(long Round, double? Loss, double? Metric);

/// <summary>
/// One merge: round, leader, how many contributions (and which were left out, those claimed unreachable among them), the
/// merged model, and its audit: verified by these nodes, being audited (null), or not audited (empty).
/// </summary>
public sealed record MergeView(long Round, string Leader, int Contributions, IReadOnlyList<string> Excluded, string Hash, DateTimeOffset At,
    IReadOnlyList<string>? Unreachable = null, IReadOnlyList<string>? AuditedBy = null);

/// <summary>Licence seats: in use of the installed total, or why they are unknown.</summary>
public sealed record SeatsView(int InUse, int Total, string? Problem);
