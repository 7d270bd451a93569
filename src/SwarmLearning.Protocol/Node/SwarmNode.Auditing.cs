using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

public sealed partial class SwarmNode
{
    // Audits this node has taken on (round, merged hash, block of the publication, escalated): a verdict once per request;
    // the same model published again for the round is a new publication, judged again.
    private readonly HashSet<(long Round, ContentHash Hash, long Published, bool Escalated)> _judged = [];

    /// <summary>
    /// The node's standing duties beside its program's training: audits a merge when drawn (or asked as a panel member once
    /// a verdict disagreed), and ticks when an audit waits for its auditors to be drawn or for its deadline. Runs until the
    /// training completes, the node is no longer active in the contract, or <paramref name="cancellationToken"/> (the
    /// node's lifetime) ends. Auditing in the background is what lets nodes load a merged model at once: the audit
    /// overlaps the next round's training (docs/verification.md, "When a node adopts a merged model").
    /// </summary>
    public async Task RunDutiesAsync(CancellationToken cancellationToken)
    {
        ContractState? state = null;
        for (int failures = 0; ; )
        {
            try
            {
                state ??= await ledger.GetContractAsync(options.Contract, cancellationToken);
                if (state is not { Status: ContractStatus.Active } || state.Nodes.GetValueOrDefault(options.NodeId)?.IsActive != true)
                {
                    return;
                }
                if (state.Audit is { } audit && audit.Asks(options.NodeId) && !audit.Verdicts.ContainsKey(options.NodeId)
                    && _judged.Add((audit.Round, audit.Hash, audit.PublishedHeight, audit.Escalated)))
                {
                    await AuditAsync(state, audit, cancellationToken);
                    state = null; // read again
                    continue;
                }
                state = await NextStateAsync(state, cancellationToken);
                failures = 0;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The SNs out of reach past the client's patience, or anything else: the duties go on, later.
                failures++;
                Log.AuditFailed(_logger, options.NodeId, state?.Audit?.Round ?? -1, $"{e.Message}; trying again");
                await Task.Delay(options.RetryDelay * Math.Min(30, 1 << Math.Min(failures, 5)), time, cancellationToken);
                state = null;
            }
        }
    }

    private async Task AuditAsync(ContractState state, AuditState audit, CancellationToken cancellationToken)
    {
        if (state.MergedOf(audit.Round) is not { } merged || merged.Hash != audit.Hash)
        {
            return;
        }
        try
        {
            Log.Auditing(_logger, options.NodeId, merged.Hash.Short, merged.Round, merged.Leader);
            AuditMerge? verdict = await RecomputeAsync(state, merged, audit, cancellationToken);
            if (options.Byzantine is { } byzantine)
            {
                verdict = await byzantine.JudgeAsync(new AuditTurn(state, options.NodeId, merged), verdict, cancellationToken);
            }
            if (verdict is null)
            {
                return;
            }
            var outcome = await ledger.SubmitAsync(verdict, cancellationToken);
            Log.Judged(_logger, options.NodeId, merged.Round, TrainingContract.Name(verdict.Finding),
                (verdict.Detail is { } detail ? $": {detail}" : "") + (outcome.Accepted ? "" : $" (refused: {outcome.Reason})"));
        }
        catch (Exception e) when (e is SwarmException or IOException or PeerUnavailableException or KeyNotFoundException)
        {
            Log.AuditFailed(_logger, options.NodeId, merged.Round, e.Message);
        }
    }

    /// <summary>
    /// Recomputes a merge from its inputs and returns the verdict: every merged input must be a valid model of this
    /// training, every model left out as invalid must be invalid, the merge of the rest must give the published bytes;
    /// a model left out as unreachable that this node can fetch overrules the publication without blaming the leader.
    /// </summary>
    private async Task<AuditMerge> RecomputeAsync(ContractState state, MergedRound merged, AuditState audit, CancellationToken cancellationToken)
    {
        var excluded = merged.Excluded.ToHashSet(StringComparer.Ordinal);
        var unreachable = (merged.Unreachable ?? []).ToHashSet(StringComparer.Ordinal);
        // Sources: the owner, then the leader (it holds what it merged), then nodes that already vouched for the inputs.
        string[] vouched = [.. audit.Verdicts.Values.Where(v => v.Finding is AuditFinding.Agree or AuditFinding.Overruled).Select(v => v.NodeId)];
        // What the leader merged, it holds: ask it first (an owner serving only the leader must not make the audit fail);
        // what it left out, ask the owner first.
        var gathered = await GatherAsync(state, [.. merged.Contributions.Where(c => c.WeightMicros > 0)],
            c => excluded.Contains(c.Key) ? [c.NodeId, .. vouched, merged.Leader] : [merged.Leader, c.NodeId, .. vouched], _ => false, cancellationToken);
        AuditMerge Verdict(AuditFinding finding, ContentHash recomputed, string detail, IReadOnlyList<string>? fetched = null) =>
            new(options.Contract, options.NodeId, merged.Round, merged.Hash, finding, recomputed, detail.Length == 0 ? null : detail.Length > 250 ? detail[..250] : detail, fetched);

        var wrong = gathered.Where(g => !excluded.Contains(g.Contribution.Key) && g.Invalid is not null)
            .Select(g => $"'{g.Contribution.Key}' was merged but is invalid ({g.Invalid})")
            .Concat(gathered.Where(g => excluded.Contains(g.Contribution.Key) && !unreachable.Contains(g.Contribution.Key) && g.Usable)
                .Select(g => $"'{g.Contribution.Key}' was left out as invalid but is a valid model"))
            .ToList();
        if (wrong.Count > 0)
        {
            return Verdict(AuditFinding.Wrong, ContentHash.None, string.Join("; ", wrong));
        }
        var missing = gathered.Where(g => !excluded.Contains(g.Contribution.Key) && g.Unreachable is not null).Select(g => g.Contribution.Key).ToList();
        if (missing.Count > 0)
        {
            return Verdict(AuditFinding.Unavailable, ContentHash.None, $"could not fetch {string.Join(", ", missing.Select(k => $"'{k}'"))}, which the leader merged");
        }
        List<MergeContribution> usable = [.. gathered.Where(g => !excluded.Contains(g.Contribution.Key)).Select(g => g.Contribution)];
        var recomputed = await RoundMerge.ComputeAsync(state, merged.Round, usable, store, (m, token) => LoadMergedAsync(state, m, token), null, cancellationToken);
        if (recomputed.Hash != merged.Hash)
        {
            return Verdict(AuditFinding.Wrong, recomputed.Hash, $"recomputing the merge from its {usable.Count} inputs gives {recomputed.Hash.Short}, not {merged.Hash.Short} ({recomputed.Note})");
        }
        var fetched = gathered.Where(g => unreachable.Contains(g.Contribution.Key) && g.Usable).Select(g => g.Contribution.Key).ToList();
        return fetched.Count > 0
            ? Verdict(AuditFinding.Overruled, recomputed.Hash, $"{string.Join(", ", fetched.Select(k => $"'{k}'"))} left out as unreachable, but this node fetched {(fetched.Count == 1 ? "it" : "them")}", fetched)
            : Verdict(AuditFinding.Agree, recomputed.Hash, "");
    }
}
