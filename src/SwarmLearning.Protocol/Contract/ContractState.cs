using System.Text.Json.Serialization;
using System.Collections.Immutable;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Contract;

/// <summary>Where a node stands in a contract.</summary>
public enum NodeStatus
{
    /// <summary>Training its epochs and syncing.</summary>
    Training,
    /// <summary>Done with its epochs; still checking in by its train-end policy until the contract completes.</summary>
    Finished,
    /// <summary>Left or removed; does not count as active.</summary>
    Left,
}

/// <summary>The phase of the current round.</summary>
public enum RoundPhase
{
    /// <summary>Taking check-ins until quorum plus the wait window (or everyone) is reached.</summary>
    Collecting,
    /// <summary>Participants fixed; the leader merges and publishes.</summary>
    Merging,
}

/// <summary>A node as the contract knows it.</summary>
public sealed record NodeRecord(
    string NodeId, NodeStatus Status, bool CanLead, string? Address, long JoinedRound, Progress? Progress,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ByzantineMark? Byzantine = null)
{
    /// <summary>Whether the node takes part: registered, not left, not found Byzantine.</summary>
    [JsonIgnore]
    public bool IsActive => Status != NodeStatus.Left && Byzantine is null;
}

/// <summary>The latest progress a node reported.</summary>
public sealed record Progress(long Round, int EpochsDone, int TotalEpochs, double? Loss, double? Metric,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Epsilon = null); // left out when null: older states hash the same

/// <summary>A model offered to a round. Weight is in millionths (integer, so the contract needs no floating point).</summary>
public sealed record CheckInRecord(string NodeId, ContentHash ModelHash, long WeightMicros, bool FromTrainingNode, DateTimeOffset At);

/// <summary>A check-in that came after its round closed, waiting to be merged into a later round.</summary>
public sealed record LateRecord(string NodeId, long TargetRound, ContentHash ModelHash, long Weight, DateTimeOffset At);

/// <summary>One input of a merge: <see cref="Key"/> is the node id, with "@rN" added for a late model meant for round N.</summary>
public sealed record MergeContribution(string Key, string NodeId, ContentHash ModelHash, long WeightMicros, int Staleness)
{
    /// <summary>The key of a node's contribution: its id for the current round, "id@rN" for a late model meant for round N.</summary>
    public static string KeyFor(string nodeId, long? lateForRound = null) => lateForRound is { } n ? $"{nodeId}@r{n}" : nodeId;
}

/// <summary>The current round.</summary>
public sealed record RoundState(
    long Number,
    RoundPhase Phase,
    ImmutableList<CheckInRecord> CheckIns,
    DateTimeOffset? ReadyAt,
    ImmutableList<MergeContribution> Contributions,
    ImmutableList<string> LeaderOrder,
    int LeaderIndex,
    DateTimeOffset? LeaderSince,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableSortedDictionary<string, ImmutableList<string>>? Holders = null)
{
    /// <summary>
    /// For a round merged again after auditors overruled an "unreachable" exclusion: which nodes fetched each such
    /// contribution (they hold it); the next leader fetches from them too, and waits for it (null otherwise).
    /// </summary>
    public IReadOnlyList<string> HoldersOf(string key) => Holders?.GetValueOrDefault(key) ?? [];

    /// <summary>A fresh round collecting check-ins.</summary>
    public static RoundState Open(long number) => new(number, RoundPhase.Collecting, [], null, [], [], 0, null);

    /// <summary>The node expected to merge now, if merging.</summary>
    public string? CurrentLeader => Phase == RoundPhase.Merging && LeaderOrder.Count > 0 ? LeaderOrder[LeaderIndex % LeaderOrder.Count] : null;

    /// <summary>Every node that has been asked to lead this round so far (any of them may still publish).</summary>
    public IEnumerable<string> LeadersSoFar => LeaderOrder.Take(Math.Min(LeaderOrder.Count, LeaderIndex + 1));
}

/// <summary>A completed merge, kept as the contract's history.</summary>
/// <param name="Round">The round.</param>
/// <param name="Hash">The merged model's hash.</param>
/// <param name="Leader">The node that published it (for round 0, a node holding the chosen initial model; empty when the contract kept the model).</param>
/// <param name="Contributions">The round's inputs.</param>
/// <param name="Excluded">The inputs left out.</param>
/// <param name="At">When it was published.</param>
/// <param name="Unreachable">The excluded contributions the leader claims it could not fetch (the others it found invalid).</param>
/// <param name="Started">When the publishing leader's turn began: the merge's duration feeds the leader timeout.</param>
/// <param name="AuditedBy">The auditors who verified it; empty when accepted without audit; null while its audit is open.</param>
public sealed record MergedRound(
    long Round, ContentHash Hash, string Leader, ImmutableList<MergeContribution> Contributions,
    ImmutableList<string> Excluded, DateTimeOffset At,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableList<string>? Unreachable = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? Started = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableList<string>? AuditedBy = null);

/// <summary>Whether the training runs or is over.</summary>
public enum ContractStatus
{
    /// <summary>Training.</summary>
    Active,
    /// <summary>Every active node has finished; <see cref="ContractState.FinalModel"/> is the result.</summary>
    Completed,
}

/// <summary>The whole state of one training contract; immutable, changed only by <see cref="TrainingContract.Apply"/>.</summary>
public sealed record ContractState(
    string Name,
    TrainingParameters Parameters,
    ContractTimings Timings,
    ModelSignature? Signature,
    ImmutableSortedDictionary<string, NodeRecord> Nodes,
    RoundState Round,
    ImmutableList<MergedRound> History,
    ImmutableSortedDictionary<string, LateRecord> LatePool,
    ContractStatus Status,
    ContentHash FinalModel,
    long Version,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AuditState? Audit = null)
{
    /// <summary>A new contract with no node yet.</summary>
    public static ContractState Create(string name, TrainingParameters parameters, ContractTimings timings) =>
        new(name, parameters, timings, null, ImmutableSortedDictionary.Create<string, NodeRecord>(StringComparer.Ordinal),
            RoundState.Open(0), [], ImmutableSortedDictionary.Create<string, LateRecord>(StringComparer.Ordinal),
            ContractStatus.Active, ContentHash.None, 0);

    /// <summary>The latest merged model, or null before the first merge.</summary>
    public MergedRound? LatestMerged => History.Count > 0 ? History[^1] : null;

    /// <summary>The merged model of <paramref name="round"/>, if it has been merged.</summary>
    public MergedRound? MergedOf(long round) => round >= 0 && round < History.Count ? History[(int)round] : null;

    /// <summary>Nodes that count for the training: registered, not left, not found Byzantine.</summary>
    public IEnumerable<NodeRecord> ActiveNodes => Nodes.Values.Where(n => n.IsActive);

    /// <summary>
    /// The deadline the contract waits for (auditors to draw, an audit's, the end of the wait window, a straggler
    /// timeout, or the leader's timeout), if any: a node waiting on it submits a tick when it passes.
    /// </summary>
    public DateTimeOffset? NextDeadline =>
        Status != ContractStatus.Active ? null
        : Earliest(Audit is null ? null : Audit.Drawn ? Audit.Deadline : Audit.PublishedAt + DrawGrace,
            Round.Phase == RoundPhase.Merging ? Round.LeaderSince + LeaderTimeout()
            : Round.ReadyAt is not null && Audit is null ? Round.ReadyAt + Timings.WaitWindow
            : OnlyFinishedWaitingSince + Timings.Stragglers);

    /// <summary>
    /// The check-ins a round needs: minPeers, less one for each node found Byzantine (at least 1). The quorum was set for
    /// a swarm that counted them; otherwise a node could stall the training for good by getting itself found out.
    /// </summary>
    public int Quorum() => Math.Max(1, Parameters.MinPeers - Nodes.Values.Count(n => n.Byzantine is not null));

    /// <summary>How long nodes leave the leader to tick for the auditors' draw before they tick themselves.</summary>
    public static readonly TimeSpan DrawGrace = TimeSpan.FromSeconds(1);

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>
    /// How long a leader (or an auditor) has: four times the median of the last merges' durations on the ledger, bounded
    /// below by <see cref="ContractTimings.Floor"/> and above by <see cref="ContractTimings.LeaderTimeout"/>; the fixed
    /// timeout until three merges have been timed. Integer ticks: every SN computes the same.
    /// </summary>
    public TimeSpan LeaderTimeout()
    {
        long[] durations = [.. History.Skip(Math.Max(0, History.Count - 9))
            .Where(m => m.Started is not null && m.Leader.Length > 0 && m.At >= m.Started)
            .Select(m => (m.At - m.Started!.Value).Ticks).Order()];
        if (durations.Length < 3)
        {
            return Timings.LeaderTimeout;
        }
        long derived = durations[(durations.Length - 1) / 2] * 4;
        return TimeSpan.FromTicks(Math.Clamp(derived, Math.Min(Timings.Floor.Ticks, Timings.LeaderTimeout.Ticks), Timings.LeaderTimeout.Ticks));
    }

    /// <summary>
    /// When only nodes that have finished are checked in (after the first merge), the time the first of them did:
    /// from then on, the nodes still training have <see cref="ContractTimings.Stragglers"/> to show up.
    /// </summary>
    public DateTimeOffset? OnlyFinishedWaitingSince =>
        LatestMerged is not null && Round.Phase == RoundPhase.Collecting && Round.CheckIns.Count > 0 && !Round.CheckIns.Any(c => c.FromTrainingNode)
            ? Round.CheckIns.Min(c => c.At)
            : null;
}
