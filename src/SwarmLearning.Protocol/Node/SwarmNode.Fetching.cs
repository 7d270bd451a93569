using SwarmLearning.Core;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

public sealed partial class SwarmNode
{
    /// <summary>
    /// Gets a merged model into the local store (from its leader first, then from any other node, since every node that
    /// holds it serves it too) and makes it this node's base. If no node can serve it for a leader timeout, reports it
    /// lost (the contract then has the round merged again); returns false once the contract no longer names it.
    /// The model is not parsed: whoever hands it to the ML program reads it from the store (or passes its file's path).
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
            var sources = state.Nodes.Values
                .Where(n => n.NodeId != options.NodeId && n.Status != NodeStatus.Left)
                .OrderBy(n => n.NodeId == merged.Leader ? 0 : 1)
                .ThenBy(n => n.NodeId, StringComparer.Ordinal)
                .ToList();
            string reason = "no other node is registered";
            foreach (var source in sources)
            {
                try
                {
                    await transport.FetchAsync(merged.Hash, source.NodeId, source.Address, cancellationToken);
                    break;
                }
                catch (PeerUnavailableException e)
                {
                    reason = e.Message;
                }
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
        _base = merged;
        Log.Adopted(_logger, options.NodeId, merged.Hash.Short, merged.Round);
        return true;
    }
}
