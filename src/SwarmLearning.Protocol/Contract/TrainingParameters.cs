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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DifferentialPrivacy? Privacy = null)
{
    /// <summary>Returns null when valid, else what is wrong.</summary>
    public string? Problem() =>
        MinPeers < 1 ? $"minPeers must be at least 1 (got {MinPeers})"
        : SyncFrequency < 1 ? $"syncFrequency must be at least 1 (got {SyncFrequency})"
        : string.IsNullOrWhiteSpace(MergeMethod) ? "mergeMethod must be named"
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
public sealed record ContractTimings(TimeSpan WaitWindow, TimeSpan LeaderTimeout, int MaxStaleness, TimeSpan? StragglerTimeout = null)
{
    /// <summary>HPE's values: 30 s wait for a full quorum, 600 s for a leader; late models up to 2 rounds old; 600 s for stragglers.</summary>
    public static ContractTimings Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(600), 2);

    /// <summary>The straggler timeout in force (the leader timeout unless set).</summary>
    public TimeSpan Stragglers => StragglerTimeout ?? LeaderTimeout;

    /// <summary>Returns null when valid, else what is wrong.</summary>
    public string? Problem() =>
        WaitWindow < TimeSpan.Zero ? "the wait window cannot be negative"
        : LeaderTimeout <= TimeSpan.Zero ? "the leader timeout must be positive"
        : MaxStaleness < 0 ? "maxStaleness cannot be negative"
        : null;
}
