using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Node;

namespace SwarmLearning.Protocol.Attacks;

/// <summary>
/// What a Byzantine node does beyond its program's model: lie as a leader (publish random parameters, a plain mean or its
/// own model, leave honest contributions out, or publish nothing) or vote twice as a contributor. The node is a real
/// <see cref="SwarmNode"/> served by the same node session as an honest one; only these decisions change.
/// </summary>
/// <param name="kind">The attack.</param>
/// <param name="colluders">The attacking nodes: a lying leader leaves everyone else out.</param>
/// <param name="seed">Seeds the random parameters.</param>
public sealed class ByzantineNode(AttackKind kind, IReadOnlySet<string> colluders, int seed) : IByzantineBehaviour
{
    private readonly Random _random = new(seed);

    /// <inheritdoc />
    public override string ToString() => $"{Attack.NameOf(kind)} (the attackers: {string.Join(", ", colluders.Order(StringComparer.Ordinal))})";

    /// <summary>
    /// The behaviour fault injection asks for (SWARM_FAULT_BYZANTINE=KIND, SWARM_FAULT_COLLUDERS=a,b): a drill for tests
    /// and red teams, never for production; null when the variable is unset. Throws <see cref="Core.SwarmException"/> for
    /// a kind that is not a node-side attack.
    /// </summary>
    public static ByzantineNode? FromEnvironment(string nodeId, string? kind, string? colluders)
    {
        if (string.IsNullOrWhiteSpace(kind))
        {
            return null;
        }
        var attack = Attack.Parse(kind.Trim() + ":1").Kind;
        if (!Needed(attack))
        {
            throw new Core.SwarmException($"SWARM_FAULT_BYZANTINE={kind} is not a node-side attack; use one of: leader-random, leader-nan, leader-mean, leader-exclude, leader-invalid, leader-silent, double-vote, auditor-lie");
        }
        var others = (colluders ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new ByzantineNode(attack, new HashSet<string>([nodeId, .. others], StringComparer.Ordinal), seed: nodeId.Length);
    }

    /// <summary>Whether <paramref name="kind"/> needs a node-side behaviour (not only a lying program or a slow file server).</summary>
    public static bool Needed(AttackKind kind) => kind is AttackKind.LeaderRandom or AttackKind.LeaderNaN or AttackKind.LeaderMean or AttackKind.LeaderExclude
        or AttackKind.LeaderInvalid or AttackKind.LeaderSilent or AttackKind.DoubleVote or AttackKind.AuditorLie;

    /// <inheritdoc />
    public Task<AuditMerge?> JudgeAsync(AuditTurn turn, AuditMerge honest, CancellationToken cancellationToken)
    {
        if (kind != AttackKind.AuditorLie)
        {
            return Task.FromResult<AuditMerge?>(honest);
        }
        // Vouches for the colluders' merges whatever they hold, and calls every honest merge wrong.
        return Task.FromResult<AuditMerge?>(colluders.Contains(turn.Merged.Leader)
            ? honest with { Finding = AuditFinding.Agree, Recomputed = turn.Merged.Hash, Detail = null }
            : honest with { Finding = AuditFinding.Wrong, Recomputed = Core.Files.ContentHash.Of([1, 2, 3]), Detail = "recomputing gives another model" });
    }

    /// <inheritdoc />
    public async Task<Publication?> PublishAsync(LeaderTurn turn, Publication honest, CancellationToken cancellationToken)
    {
        var round = turn.State.Round;
        if (round.Number == 0 || turn.Usable.Count == 0)
        {
            return kind == AttackKind.LeaderSilent ? null : honest;
        }
        switch (kind)
        {
            case AttackKind.LeaderSilent:
                return null;
            case AttackKind.LeaderRandom:
            {
                var template = await turn.Store.GetAsync(turn.Usable[0].ModelHash, cancellationToken);
                ModelState noise;
                lock (_random)
                {
                    noise = ModelArithmetic.Random(template, _random);
                }
                return new Publication(await turn.Store.PutAsync(noise, cancellationToken), [], []);
            }
            case AttackKind.LeaderNaN:
            {
                var template = await turn.Store.GetAsync(turn.Usable[0].ModelHash, cancellationToken);
                return new Publication(await turn.Store.PutAsync(ModelArithmetic.Map(template, (_, values) => values.Fill(float.NaN)), cancellationToken), [], []);
            }
            case AttackKind.LeaderMean:
                return await PlainMeanOrOwnAsync(turn, cancellationToken);
            case AttackKind.LeaderExclude or AttackKind.LeaderInvalid:
            {
                // Only the attackers' models are merged; every honest one is claimed unreachable (or invalid).
                var kept = turn.Usable.Where(c => colluders.Contains(c.NodeId)).ToList();
                if (kept.Count == 0)
                {
                    return honest;
                }
                string[] left = [.. round.Contributions.Where(c => c.WeightMicros > 0 && !colluders.Contains(c.NodeId)).Select(c => c.Key)];
                return new Publication(await turn.MergeOf(kept, cancellationToken), left, kind == AttackKind.LeaderExclude ? left : []);
            }
            default:
                return honest;
        }
    }

    /// <summary>A plain mean where the contract names a robust merge; under the mean itself, the leader's own model.</summary>
    private static async Task<Publication> PlainMeanOrOwnAsync(LeaderTurn turn, CancellationToken cancellationToken)
    {
        if (MergeMethods.Parse(turn.State.Parameters.MergeMethod) is WeightedMean)
        {
            var own = turn.State.Round.CheckIns.Find(c => c.NodeId == turn.NodeId);
            return own is null ? new Publication(turn.Usable[0].ModelHash, [], []) : new Publication(own.ModelHash, [], []);
        }
        var ordered = turn.Usable.OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        var mean = new MeanAccumulator(turn.State.Signature!, Reproducible.Sum(ordered.Select(c => (double)c.WeightMicros)));
        foreach (var contribution in ordered)
        {
            mean.Add(new Contribution(contribution.Key, await turn.Store.GetAsync(contribution.ModelHash, cancellationToken), contribution.WeightMicros));
        }
        return new Publication(await turn.Store.PutAsync(mean.Finish(), cancellationToken), [], []);
    }

    /// <inheritdoc />
    public async Task AfterCheckInAsync(CheckInTurn turn, CancellationToken cancellationToken)
    {
        // A second vote: the same model offered late for the round before, so it enters this round's merge a second time.
        if (kind == AttackKind.DoubleVote && turn.Round >= 2 && turn.State.MergedOf(turn.Round - 2) is { } older)
        {
            await turn.Ledger.SubmitAsync(new CheckIn(turn.State.Name, turn.NodeId, turn.Round - 1, older.Hash, turn.Model, turn.Weight), cancellationToken);
        }
    }
}
