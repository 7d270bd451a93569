namespace SwarmLearning.Network;

/// <summary>What an SN joining the network sends to an SN already in.</summary>
public sealed record JoinRequest(string RaftEndPoint, string ApiUrl, string LedgerKey, string? FileUrl = null);

/// <summary>What an SL node (or command interface) sends to have its ledger key put on the chain.</summary>
public sealed record KeyRequest(string PublicKey);

/// <summary>An SN's health and view of the ledger.</summary>
/// <param name="Id">This SN's SPIFFE ID.</param>
/// <param name="Height">The last applied block.</param>
/// <param name="HeadHash">Its hash.</param>
/// <param name="IsLeader">Whether this SN leads.</param>
/// <param name="LeaderApi">The leader's API URL, if known.</param>
/// <param name="Sns">SNs in the directory on the chain.</param>
/// <param name="Contracts">Training contracts.</param>
/// <param name="Status">ok, or degraded when a background loop stopped (named in <paramref name="Stopped"/>).</param>
/// <param name="Stopped">Background loops that stopped, with why.</param>
/// <param name="Archive">Null when the block archive is complete, otherwise what is being fetched.</param>
public sealed record SnHealth(string Id, long Height, string? HeadHash, bool IsLeader, string? LeaderApi, int Sns, int Contracts,
    string Status = "ok", IReadOnlyList<string>? Stopped = null, string? Archive = null);

/// <summary>A contract in a listing.</summary>
public sealed record ContractSummary(string Name, string Status, long Version, long Round, int Nodes, int Merges);

/// <summary>An SL node says it is alive (kept in memory by the SN it talks to, never written to the chain).</summary>
public sealed record AliveRequest(string Contract, string NodeId);

/// <summary>HPE's PERFDATA for one node: leader or not, loss, metric, epochs done of total; and, when it was found Byzantine, why.</summary>
public sealed record NodeProgressInfo(string NodeId, string Status, bool IsLeader, long? Round, double? Loss, double? Metric, int? EpochsDone, int? TotalEpochs, DateTimeOffset? LastAlive,
    double? Epsilon = null, string? Byzantine = null);
