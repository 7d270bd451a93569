using System.Collections.Immutable;
using System.Text.Json.Serialization;
using SwarmLearning.Core.Files;

namespace SwarmLearning.Protocol.Contract;

/// <summary>What an auditor found when it recomputed a merge (docs/verification.md).</summary>
public enum AuditFinding
{
    /// <summary>Recomputing the merge from its inputs gives the published model, and no exclusion is false.</summary>
    Agree,

    /// <summary>
    /// A recomputably false publication: the inputs the leader merged give another model, or a model it left out as
    /// invalid is valid, or the published model itself is not a model of this training (wrong layout, NaN).
    /// </summary>
    Wrong,

    /// <summary>The merge recomputes, but a model the leader claimed unreachable was fetched and is valid: the round is merged again, nobody is marked.</summary>
    Overruled,

    /// <summary>An input the leader merged could not be fetched (from its owner, the leader or the other auditors): no judgement.</summary>
    Unavailable,
}

/// <summary>One auditor's signed verdict on a merge: what it found, and the hash its own recomputation gave.</summary>
/// <param name="NodeId">The judge.</param>
/// <param name="Finding">What it found.</param>
/// <param name="Recomputed">The hash its recomputation gave (none when it could not recompute).</param>
/// <param name="Detail">Why, in words.</param>
/// <param name="At">When (block time).</param>
/// <param name="Fetched">With <see cref="AuditFinding.Overruled"/>: the contributions claimed unreachable that it fetched (it holds them).</param>
public sealed record Verdict(string NodeId, AuditFinding Finding, ContentHash Recomputed, string? Detail, DateTimeOffset At,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableList<string>? Fetched = null);

/// <summary>
/// The audit of the latest merge. Auditors are drawn in a block after the one holding the publication, from that block's
/// parent hash, so the leader cannot know them when it publishes. A verdict that disagrees escalates to a panel of every
/// other active node, whose majority decides. The next round cannot close while the audit is open.
/// </summary>
public sealed record AuditState(
    long Round,
    ContentHash Hash,
    string Leader,
    long PublishedHeight,
    DateTimeOffset PublishedAt,
    ImmutableList<string> Auditors,
    bool Drawn,
    bool Escalated,
    ImmutableList<string> Panel,
    ImmutableSortedDictionary<string, Verdict> Verdicts,
    DateTimeOffset? Deadline)
{
    /// <summary>An audit opened by a publication, its auditors not yet drawn.</summary>
    public static AuditState Open(long round, ContentHash hash, string leader, long height, DateTimeOffset at) =>
        new(round, hash, leader, height, at, [], false, false, [], ImmutableSortedDictionary.Create<string, Verdict>(StringComparer.Ordinal), null);

    /// <summary>Whether <paramref name="nodeId"/> is asked to recompute this merge now (a drawn auditor, or a panel member once escalated).</summary>
    public bool Asks(string nodeId) => Escalated ? Panel.Contains(nodeId) : Drawn && Auditors.Contains(nodeId);

    /// <summary>The nodes whose verdicts decide now.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Deciders => Escalated ? Panel : Auditors;
}

/// <summary>Why a node was found Byzantine in a contract: it no longer leads, audits or counts, and its transactions are refused.</summary>
public sealed record ByzantineMark(long Round, string Reason, DateTimeOffset At);
