using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

public sealed partial class SwarmNode
{
    /// <summary>
    /// Gets a merged model into the local store (from its leader first, then from any other node, since every node that
    /// holds it serves it too), checks it as a contribution is checked (this training's layout, finite values) and makes
    /// it this node's base. If no node can serve it for a leader timeout, reports it lost (the contract then has the round
    /// merged again); returns false once the contract no longer names it. A model that fails the check is never handed
    /// to the program: the node disputes it and waits for its audit (<see cref="DisputeAsync"/>).
    /// </summary>
    private async Task<bool> AdoptAsync(MergedRound merged, CancellationToken cancellationToken)
    {
        DateTimeOffset? failingSince = null, reportedAt = null;
        while (!store.Contains(merged.Hash))
        {
            var state = await RequireContractAsync(cancellationToken);
            if (state.MergedOf(merged.Round)?.Hash != merged.Hash)
            {
                Log.MergeReopened(_logger, options.NodeId, merged.Hash.Short, merged.Round);
                return false;
            }
            string reason = "no other node is registered";
            foreach (var source in SourcesOf(state, merged))
            {
                if (await TryFetchAsync(merged.Hash, source, state.LeaderTimeout(), cancellationToken) is not { } failed)
                {
                    break;
                }
                reason = failed;
            }
            if (!store.Contains(merged.Hash))
            {
                Log.FetchFailed(_logger, options.NodeId, merged.Hash.Short, reason);
                var now = time.GetUtcNow();
                failingSince ??= now;
                if (state.Status == ContractStatus.Completed && state.FinalModel == merged.Hash && now - failingSince >= state.Timings.LeaderTimeout)
                {
                    // A final model cannot be merged again: waiting longer only hangs the program (docs/protocol.md).
                    throw new SwarmException($"node '{options.NodeId}': training in contract '{options.Contract}' is over, and no node that holds its final model " +
                        $"{merged.Hash.Short} (round {merged.Round}) answers ({reason}): the others have stopped. On a node that holds it, start `swarm run-sl` " +
                        "with --ml-cmd '' (no program: it serves the files kept in its data folder), then run this node again");
                }
                if (now - failingSince >= state.Timings.LeaderTimeout && (reportedAt is null || now - reportedAt >= state.Timings.LeaderTimeout))
                {
                    reportedAt = now;
                    await SubmitAsync(new ReportLostMerge(options.Contract, options.NodeId, merged.Round, merged.Hash), cancellationToken);
                    continue;
                }
                await Task.Delay(options.RetryDelay, time, cancellationToken);
            }
        }
        if (await ProblemWithAsync(merged, cancellationToken) is { } problem)
        {
            return await DisputeAsync(merged, problem, cancellationToken);
        }
        _base = merged;
        Log.Adopted(_logger, options.NodeId, merged.Hash.Short, merged.Round);
        return true;
    }

    /// <summary>Who may hold a merged model: its leader, then the nodes whose recomputation gave it, then any other node.</summary>
    private IEnumerable<NodeRecord> SourcesOf(ContractState state, MergedRound merged)
    {
        var vouched = state.Audit?.Round == merged.Round
            ? state.Audit.Verdicts.Values.Where(v => v.Recomputed == merged.Hash).Select(v => v.NodeId).ToHashSet(StringComparer.Ordinal)
            : (merged.AuditedBy ?? []).ToHashSet(StringComparer.Ordinal);
        return state.Nodes.Values
            .Where(n => n.NodeId != options.NodeId && n.Status != NodeStatus.Left)
            .OrderBy(n => n.NodeId == merged.Leader ? 0 : vouched.Contains(n.NodeId) ? 1 : 2)
            .ThenBy(n => n.NodeId, StringComparer.Ordinal);
    }

    /// <summary>
    /// Fetches a file from one node, giving up after <paramref name="timeout"/> (a peer that drip-feeds a file must not
    /// hold this node for ever; a download cut short resumes on the next try); null on success, else why not.
    /// </summary>
    private async Task<string?> TryFetchAsync(ContentHash hash, NodeRecord source, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(timeout, time);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await transport.FetchAsync(hash, source.NodeId, source.Address, attempt.Token);
            return null;
        }
        catch (PeerUnavailableException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"node '{source.NodeId}' did not deliver {hash.Short} within {timeout.TotalSeconds:0.#} s";
        }
    }

    /// <summary>What makes a merged model unfit for the program (another layout, NaN or infinity), or null when it is fit.</summary>
    private async Task<string?> ProblemWithAsync(MergedRound merged, CancellationToken cancellationToken)
    {
        var state = await RequireContractAsync(cancellationToken);
        try
        {
            var model = await store.GetAsync(merged.Hash, cancellationToken);
            return state.Signature?.DescribeDifference(model.Signature) is { } difference ? $"its layout is not this training's: {difference}"
                : Core.Model.ModelChecks.FirstNonFinite(model) is { } tensor ? $"tensor '{tensor}' holds NaN or infinite values"
                : null;
        }
        catch (ModelFileException e)
        {
            return $"it is not a readable model: {e.Message}";
        }
    }

    /// <summary>
    /// A merged model this node will not load: reports it wrong while its audit is open (any node may), then waits until
    /// the contract drops it (returns false: look again). If the swarm verified it anyway, more than half of the nodes that
    /// audited it vouched for a model that cannot be loaded: the node stops with that error rather than train on it.
    /// </summary>
    private async Task<bool> DisputeAsync(MergedRound merged, string problem, CancellationToken cancellationToken)
    {
        Log.Disputed(_logger, options.NodeId, merged.Hash.Short, merged.Round, problem);
        var state = await RequireContractAsync(cancellationToken);
        bool disputed = false;
        while (true)
        {
            var now = state.MergedOf(merged.Round);
            if (now?.Hash != merged.Hash)
            {
                return false;
            }
            if (now.AuditedBy is not null)
            {
                throw new SwarmException($"node '{options.NodeId}': the swarm accepted merged model {merged.Hash.Short} of round {merged.Round} by '{merged.Leader}', but {problem}. " +
                    (now.AuditedBy.Count == 0 ? "Verification is off in this contract (or no node could audit it), so nothing stopped it" : $"It was vouched for by {string.Join(", ", now.AuditedBy)}") +
                    "; this node will not train on it. Check the other nodes' logs, and reset the contract");
            }
            if (!disputed && state.Audit is { } audit && audit.Round == merged.Round && audit.Hash == merged.Hash && merged.Leader != options.NodeId)
            {
                disputed = true;
                await SubmitAsync(new AuditMerge(options.Contract, options.NodeId, merged.Round, merged.Hash, AuditFinding.Wrong, ContentHash.None,
                    problem.Length > 250 ? problem[..250] : problem), cancellationToken);
            }
            state = await NextStateAsync(state, cancellationToken);
        }
    }
}
