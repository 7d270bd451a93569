using System.Text.Json.Serialization;
using SwarmLearning.Core.Privacy;

namespace SwarmLearning.Protocol.Contract;

/// <summary>What checkinModelOnTrainEnd asks of a node that has finished its epochs while peers still train.</summary>
public enum TrainEndPolicy
{
    /// <summary>Keep checking in (so quorum holds) with weight 0: contribute nothing.</summary>
    Inactive,
    /// <summary>Keep checking in the last locally trained model with the node's weight (HPE's default).</summary>
    Snapshot,
    /// <summary>Keep checking in the latest merged model with the node's weight.</summary>
    Active,
}

/// <summary>
/// Training settings every node of a contract must share; a node with different ones is refused. <see cref="Privacy"/>
/// (null: off) makes every node clip and noise its update before checking it in (docs/privacy.md).
/// </summary>
public sealed record TrainingParameters(int MinPeers, int SyncFrequency, string MergeMethod = "mean", bool UseAdaptiveSync = false,
    // Left out of the JSON when off, so the state of contracts without it (and the ledgers holding them) is unchanged.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DifferentialPrivacy? Privacy = null,
    int Auditors = TrainingParameters.DefaultAuditors)
{
    /// <summary>
    /// Auditors drawn for each merge unless the contract says otherwise (0 turns verification off). The contract's
    /// setting: a registering node's value is not compared (its program does not choose how the swarm is audited).
    /// </summary>
    public const int DefaultAuditors = 1;

    /// <summary>The most auditors a round may draw (a disagreement still escalates to every node).</summary>
    public const int MaxAuditors = 16;

    /// <summary>Returns null when valid, else what is wrong.</summary>
    public string? Problem() =>
        MinPeers < 1 ? $"minPeers must be at least 1 (got {MinPeers})"
        : SyncFrequency < 1 ? $"syncFrequency must be at least 1 (got {SyncFrequency})"
        : string.IsNullOrWhiteSpace(MergeMethod) ? "mergeMethod must be named"
        : Auditors is < 0 or > MaxAuditors ? $"auditors must be 0 (verification off) to {MaxAuditors} (got {Auditors})"
        : Privacy?.Problem();

    /// <summary>Returns null when equal to <paramref name="other"/>, else the first parameter that differs, as a sentence.</summary>
    public string? DescribeDifference(TrainingParameters other, string contract) =>
        MinPeers != other.MinPeers ? Differs("minPeers", other.MinPeers, MinPeers, contract)
        : SyncFrequency != other.SyncFrequency ? Differs("syncFrequency", other.SyncFrequency, SyncFrequency, contract)
        : !string.Equals(MergeMethod, other.MergeMethod, StringComparison.OrdinalIgnoreCase) ? Differs("mergeMethod", other.MergeMethod, MergeMethod, contract)
        : UseAdaptiveSync != other.UseAdaptiveSync ? Differs("useAdaptiveSync", other.UseAdaptiveSync, UseAdaptiveSync, contract)
        : DifferentialPrivacy.Difference(other.Privacy, Privacy) is var (name, mine, theirs) ? Differs(name, mine, theirs, contract)
        : null;

    private static string Differs(string name, object mine, object theirs, string contract) =>
        $"parameter {name} is {mine} on this node but contract '{contract}' uses {theirs}; every node of a training must run with the same parameters";
}

/// <summary>
/// Timing rules of a contract (block time): how long a round waits for more peers after quorum, when a silent leader
/// is replaced, how stale a late model may be, and how long nodes that have finished wait for nodes still registered
/// as training that no longer check in (crashed for good) before the training completes without them.
/// </summary>
public sealed record ContractTimings(TimeSpan WaitWindow, TimeSpan LeaderTimeout, int MaxStaleness, TimeSpan? StragglerTimeout = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TimeSpan? LeaderTimeoutFloor = null)
{
    /// <summary>The longest any contract timing may be (block time plus it must stay a valid time).</summary>
    public static readonly TimeSpan MaxTiming = TimeSpan.FromDays(30);

    /// <summary>The least time a leader or auditor is given once the timeout is derived from merge times (default 10 s).</summary>
    [JsonIgnore]
    public TimeSpan Floor => LeaderTimeoutFloor ?? TimeSpan.FromSeconds(10);

    /// <summary>HPE's values: 30 s wait for a full quorum, 600 s for a leader; late models up to 2 rounds old; 600 s for stragglers.</summary>
    public static ContractTimings Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600), 2);

    /// <summary>The straggler timeout in force (the leader timeout unless set).</summary>
    [JsonIgnore]
    public TimeSpan Stragglers => StragglerTimeout ?? LeaderTimeout;

    /// <summary>Returns null when equal to <paramref name="other"/>, else the first timing that differs, as a sentence.</summary>
    public string? DescribeDifference(ContractTimings other, string contract) =>
        WaitWindow != other.WaitWindow ? Differs("wait window", other.WaitWindow, WaitWindow, contract)
        : LeaderTimeout != other.LeaderTimeout ? Differs("leader timeout", other.LeaderTimeout, LeaderTimeout, contract)
        : MaxStaleness != other.MaxStaleness ? Differs("maxStaleness", other.MaxStaleness, MaxStaleness, contract)
        : Stragglers != other.Stragglers ? Differs("straggler timeout", other.Stragglers, Stragglers, contract)
        : Floor != other.Floor ? Differs("leader timeout floor", other.Floor, Floor, contract)
        : null;

    private static string Differs(string name, object mine, object theirs, string contract) =>
        $"timing '{name}' is {mine} on this node but contract '{contract}' uses {theirs}; a node takes the contract's timings (leave them unset) or the same ones";

    /// <summary>Returns null when valid, else what is wrong.</summary>
    public string? Problem() =>
        WaitWindow < TimeSpan.Zero ? "the wait window cannot be negative"
        : LeaderTimeout <= TimeSpan.Zero ? "the leader timeout must be positive"
        : WaitWindow > MaxTiming || LeaderTimeout > MaxTiming || Stragglers > MaxTiming || Floor > MaxTiming
            ? $"contract timings are at most {MaxTiming.TotalDays:0} days"
        : MaxStaleness < 0 ? "maxStaleness cannot be negative"
        : LeaderTimeoutFloor is { } floor && floor <= TimeSpan.Zero ? "the leader timeout floor must be positive"
        : null;
}
