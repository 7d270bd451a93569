using System.Text.Json.Serialization;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Contract;

/// <summary>A transaction on a training contract: the only way its state changes. Metadata only, never model data.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(CreateContract), "create")]
[JsonDerivedType(typeof(RegisterNode), "register")]
[JsonDerivedType(typeof(CheckIn), "checkin")]
[JsonDerivedType(typeof(PublishMerge), "publish")]
[JsonDerivedType(typeof(ReportProgress), "report")]
[JsonDerivedType(typeof(FinishTraining), "finish")]
[JsonDerivedType(typeof(LeaveContract), "leave")]
[JsonDerivedType(typeof(RemoveNode), "remove")]
[JsonDerivedType(typeof(ResetContract), "reset")]
[JsonDerivedType(typeof(Tick), "tick")]
[JsonDerivedType(typeof(ReportLostMerge), "lost-merge")]
[JsonDerivedType(typeof(AuditMerge), "audit")]
public abstract record ContractTx(string Contract);

/// <summary>Creates a contract with its parameters and timings (an operator's act; a first registration also creates one).</summary>
public sealed record CreateContract(string Contract, TrainingParameters Parameters, ContractTimings Timings) : ContractTx(Contract);

/// <summary>Registers (or re-registers after a restart) an SL node with its model signature and parameters.</summary>
public sealed record RegisterNode(
    string Contract, string NodeId, ModelSignature Signature, TrainingParameters Parameters,
    bool CanLead = true, string? Address = null, ContractTimings? Timings = null) : ContractTx(Contract);

/// <summary>Offers a model for round <paramref name="Round"/>, trained from <paramref name="BaseHash"/> (the merged model of the round before).</summary>
public sealed record CheckIn(string Contract, string NodeId, long Round, ContentHash BaseHash, ContentHash ModelHash, long Weight)
    : ContractTx(Contract);

/// <summary>
/// The round's leader publishes the merged model's hash, naming the contributions it left out and, among them, those it
/// could not fetch (the others it found invalid): the publication commits to what was merged, what was not, and why.
/// </summary>
public sealed record PublishMerge(string Contract, string NodeId, long Round, ContentHash MergedHash, IReadOnlyList<string> Excluded,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Unreachable = null)
    : ContractTx(Contract);

/// <summary>An auditor's verdict on the latest merge, after recomputing it from its inputs (docs/verification.md).</summary>
public sealed record AuditMerge(string Contract, string NodeId, long Round, ContentHash MergedHash, AuditFinding Finding, ContentHash Recomputed,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Fetched = null)
    : ContractTx(Contract);

/// <summary>Progress a node reports after a merge (HPE's PERFDATA); informative, decides nothing.</summary>
public sealed record ReportProgress(string Contract, string NodeId, long Round, int EpochsDone, int TotalEpochs, double? Loss, double? Metric,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Epsilon = null)
    : ContractTx(Contract);

/// <summary>The node has trained all its epochs; it keeps checking in by its train-end policy until the contract completes.</summary>
public sealed record FinishTraining(string Contract, string NodeId) : ContractTx(Contract);

/// <summary>The node leaves cleanly; it no longer counts as active.</summary>
public sealed record LeaveContract(string Contract, string NodeId) : ContractTx(Contract);

/// <summary>An operator removes a node that will not come back.</summary>
public sealed record RemoveNode(string Contract, string NodeId) : ContractTx(Contract);

/// <summary>An operator resets the contract to a fresh training with the same parameters.</summary>
public sealed record ResetContract(string Contract) : ContractTx(Contract);

/// <summary>Lets block time pass: closes a wait window or replaces a leader whose deadline has gone by.</summary>
public sealed record Tick(string Contract) : ContractTx(Contract);

/// <summary>
/// Who sent a transaction, the block time and height it is applied at, the hash of the block before (the beacon), and
/// the hashes of recent blocks by height (<paramref name="BlockHash"/>; null beyond what the ledger keeps): ledger state
/// nobody knows before those blocks are committed, from which auditors are drawn.
/// </summary>
public sealed record TxContext(string Sender, bool IsOperator, DateTimeOffset BlockTime, long Height = 0, string? Beacon = null,
    Func<long, string?>? BlockHash = null);

/// <summary>
/// A node could not fetch the latest merged model from any node for a leader timeout: its leader is gone and nobody else
/// loaded it. Unless someone shows it holds the model, the round is merged again by the next leader.
/// </summary>
public sealed record ReportLostMerge(string Contract, string NodeId, long Round, ContentHash MergedHash) : ContractTx(Contract);
