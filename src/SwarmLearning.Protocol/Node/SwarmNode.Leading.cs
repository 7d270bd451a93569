using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

public sealed partial class SwarmNode
{
    /// <summary>
    /// Pulls every contribution (concurrently, under the round's gathering deadline), merges them by the contract's method
    /// and publishes the merged hash with what it left out and why; then ticks, so that the auditors are drawn in a later
    /// block than the publication's.
    /// </summary>
    private async Task LeadMergeAsync(ContractState state, CancellationToken cancellationToken)
    {
        var round = state.Round;
        if (round.Number == 0)
        {
            return; // the contract chooses round 0's model itself: nothing to merge
        }
        try
        {
            Log.Leading(_logger, options.NodeId, round.Number, round.Contributions.Count, state.Parameters.MergeMethod);
            // Contributions auditors fetched after an earlier leader could not: from them too, and waited for.
            var gathered = await GatherAsync(state, [.. round.Contributions.Where(c => c.WeightMicros > 0)],
                c => [c.NodeId, .. round.HoldersOf(c.Key)], c => round.HoldersOf(c.Key).Count > 0, cancellationToken);
            foreach (var left in gathered.Where(g => !g.Usable))
            {
                Log.Excluded(_logger, options.NodeId, left.Contribution.Key, round.Number, left.Invalid ?? left.Unreachable!);
            }
            List<MergeContribution> usable = [.. gathered.Where(g => g.Usable).Select(g => g.Contribution)];
            List<string> unreachable = [.. gathered.Where(g => g.Unreachable is not null).Select(g => g.Contribution.Key)];
            var merged = await RoundMerge.ComputeAsync(state, round.Number, usable, store, (m, token) => LoadMergedAsync(state, m, token), _mergeBuffers, cancellationToken);
            List<string> excluded = [.. gathered.Where(g => !g.Usable).Select(g => g.Contribution.Key)];
            if (merged.CarriedOver)
            {
                // With the models it could not fetch another leader may merge; once every node of the order has tried,
                // the last model carries over (naming what was unreachable) rather than the round rotating for ever.
                if (unreachable.Count > 0 && round.LeaderIndex < round.LeaderOrder.Count - 1)
                {
                    Log.MergeFailed(_logger, options.NodeId, round.Number, $"{merged.Note}; with the models it could not fetch another leader may merge");
                    return;
                }
                // Every model diverged, or merging them overflowed: keep the last good model rather than stall the swarm.
                // Only what is really unusable is left out: auditors recompute the same carry-over from the rest.
                Log.CarriedOver(_logger, options.NodeId, round.Number, merged.Hash.Short);
            }
            else
            {
                _mergeBuffers = merged.Model;
                Log.Published(_logger, options.NodeId, merged.Hash.Short, round.Number, merged.Note);
            }
            var publication = new Publication(merged.Hash, excluded, unreachable);
            if (options.Byzantine is { } byzantine)
            {
                var turn = new LeaderTurn(state, options.NodeId, store, usable,
                    async (subset, token) => (await RoundMerge.ComputeAsync(state, round.Number, subset, store, (m, t) => LoadMergedAsync(state, m, t), null, token)).Hash);
                if (await byzantine.PublishAsync(turn, publication, cancellationToken) is not { } lie)
                {
                    return;
                }
                publication = lie;
            }
            var outcome = await ledger.SubmitAsync(new PublishMerge(options.Contract, options.NodeId, round.Number, publication.Hash, publication.Excluded,
                publication.Unreachable.Count > 0 ? publication.Unreachable : null), cancellationToken);
            if (!outcome.Accepted)
            {
                Log.MergeFailed(_logger, options.NodeId, round.Number, outcome.Reason!);
                return;
            }
            await ledger.SubmitAsync(new Tick(options.Contract), cancellationToken); // a later block: the auditors are drawn from its parent's hash
        }
        catch (Exception e) when (e is SwarmException or IOException or PeerUnavailableException)
        {
            Log.MergeFailed(_logger, options.NodeId, round.Number, e.Message);
        }
    }

    /// <summary>A past merged model, from the local store, its leader, or any other node that holds it.</summary>
    private async Task<ModelState> LoadMergedAsync(ContractState state, MergedRound merged, CancellationToken cancellationToken)
    {
        string reason = "no node holds it";
        foreach (var source in SourcesOf(state, merged))
        {
            if (store.Contains(merged.Hash) || await TryFetchAsync(merged.Hash, source, state.LeaderTimeout(), cancellationToken) is not { } failed)
            {
                break;
            }
            reason = failed;
        }
        return store.Contains(merged.Hash)
            ? await store.GetAsync(merged.Hash, cancellationToken)
            : throw new PeerUnavailableException($"the merged model {merged.Hash.Short} of round {merged.Round} cannot be fetched: {reason}");
    }
}
