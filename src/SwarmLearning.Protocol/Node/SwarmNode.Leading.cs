using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

public sealed partial class SwarmNode
{
    /// <summary>Pulls every contribution, merges them by the contract's method and publishes the merged hash.</summary>
    private async Task LeadMergeAsync(ContractState state, CancellationToken cancellationToken)
    {
        var round = state.Round;
        try
        {
            ContentHash mergedHash;
            var excluded = new List<string>();
            if (round.Number == 0)
            {
                // The initial sync adopts the leader's own model (see docs/protocol.md).
                mergedHash = round.CheckIns.First(c => c.NodeId == options.NodeId).ModelHash;
                Log.Leading(_logger, options.NodeId, 0, round.CheckIns.Count, "initial model of the leader");
            }
            else
            {
                Log.Leading(_logger, options.NodeId, round.Number, round.Contributions.Count, state.Parameters.MergeMethod);
                var (usable, unreachable) = await GatherAsync(state, excluded, cancellationToken);
                if (usable.Count == 0 && unreachable > 0)
                {
                    Log.MergeFailed(_logger, options.NodeId, round.Number, "no contribution could be fetched");
                    return; // another leader may reach them
                }
                (ModelState Model, string Note)? result = null;
                try
                {
                    result = usable.Count == 0 ? null : await MergeAsync(state, usable, cancellationToken);
                    if (result is { } done && ModelChecks.FirstNonFinite(done.Model) is { } overflowed)
                    {
                        throw new MergeException($"the merged tensor '{overflowed}' overflowed to infinity or NaN");
                    }
                }
                catch (MergeException e)
                {
                    Log.MergeFailed(_logger, options.NodeId, round.Number, e.Message);
                    if (unreachable > 0)
                    {
                        return; // with the models it could not fetch, another leader may merge
                    }
                    result = null; // the same inputs would fail for every leader
                }
                if (result is not { } merged)
                {
                    // Every model diverged (or merging them overflowed): keep the last good model rather than stall the swarm.
                    mergedHash = state.LatestMerged!.Hash;
                    excluded = [.. round.Contributions.Where(c => c.WeightMicros > 0).Select(c => c.Key)];
                    Log.CarriedOver(_logger, options.NodeId, round.Number, mergedHash.Short);
                }
                else
                {
                    mergedHash = await store.PutAsync(merged.Model, cancellationToken);
                    _mergeBuffers = merged.Model;
                    Log.Published(_logger, options.NodeId, mergedHash.Short, round.Number, merged.Note);
                }
            }
            var outcome = await ledger.SubmitAsync(new PublishMerge(options.Contract, options.NodeId, round.Number, mergedHash, excluded), cancellationToken);
            if (!outcome.Accepted)
            {
                Log.MergeFailed(_logger, options.NodeId, round.Number, outcome.Reason!);
            }
        }
        catch (Exception e) when (e is SwarmException or IOException or PeerUnavailableException)
        {
            Log.MergeFailed(_logger, options.NodeId, round.Number, e.Message);
        }
    }

    /// <summary>
    /// Fetches and checks the contributions; those unreachable, of another shape or with NaN/Inf are left out and named.
    /// Returns the usable ones and how many were left out for want of a peer or a sound file (another leader may do better).
    /// </summary>
    private async Task<(List<(MergeContribution Contribution, ContentHash Hash)> Usable, int Unreachable)> GatherAsync(
        ContractState state, List<string> excluded, CancellationToken cancellationToken)
    {
        var usable = new List<(MergeContribution, ContentHash)>();
        int unreachable = 0;
        foreach (var contribution in state.Round.Contributions.Where(c => c.WeightMicros > 0))
        {
            string? problem = null;
            try
            {
                if (!store.Contains(contribution.ModelHash))
                {
                    await transport.FetchAsync(contribution.ModelHash, contribution.NodeId,
                        state.Nodes.GetValueOrDefault(contribution.NodeId)?.Address, cancellationToken);
                }
                var model = await store.GetAsync(contribution.ModelHash, cancellationToken);
                problem = state.Signature!.DescribeDifference(model.Signature)
                    ?? (ModelChecks.FirstNonFinite(model) is { } bad ? $"tensor '{bad}' holds NaN or infinite values" : null);
            }
            catch (PeerUnavailableException e)
            {
                problem = e.Message;
                unreachable++;
            }
            catch (ModelFileException e)
            {
                problem = e.Message;
                unreachable++;
            }
            if (problem is null)
            {
                usable.Add((contribution, contribution.ModelHash));
            }
            else
            {
                excluded.Add(contribution.Key);
                Log.Excluded(_logger, options.NodeId, contribution.Key, state.Round.Number, problem);
            }
        }
        return (usable, unreachable);
    }

    /// <summary>A past merged model, from the local store or from the node that merged it.</summary>
    private async Task<ModelState> LoadMergedAsync(ContractState state, MergedRound merged, CancellationToken cancellationToken)
    {
        if (!store.Contains(merged.Hash))
        {
            await transport.FetchAsync(merged.Hash, merged.Leader, state.Nodes.GetValueOrDefault(merged.Leader)?.Address, cancellationToken);
        }
        return await store.GetAsync(merged.Hash, cancellationToken);
    }

    /// <summary>Merges from the local store; the mean streams one model at a time (about twice the model in memory).</summary>
    private async Task<(ModelState Model, string Note)> MergeAsync(
        ContractState state, List<(MergeContribution Contribution, ContentHash Hash)> usable, CancellationToken cancellationToken)
    {
        var method = MergeMethods.Parse(state.Parameters.MergeMethod);
        if (method is IRobustMerge robust && usable.Count < robust.MinimumModels)
        {
            // Models were left out (or came in with weight 0): the method's guarantee no longer holds, the median's still does.
            Log.FellBack(_logger, options.NodeId, state.Round.Number, method.Name, usable.Count, robust.MinimumModels);
            method = new CoordinateMedian();
        }
        var ordered = usable.OrderBy(u => u.Contribution.Key, StringComparer.Ordinal).ToList();
        double Weight(MergeContribution c) => c.WeightMicros / (double)TrainingContract.WeightScale;
        if (method is WeightedMean)
        {
            var accumulator = new MeanAccumulator(state.Signature!, ordered.Sum(u => Weight(u.Contribution)), _mergeBuffers);
            foreach (var (contribution, hash) in ordered)
            {
                var model = await store.GetAsync(hash, cancellationToken);
                accumulator.Add(new Contribution(contribution.Key, model, Weight(contribution)));
            }
            return (accumulator.Finish(), $"mean of {ordered.Count} models, streamed");
        }
        if (method is ServerMomentum momentum)
        {
            var accumulator = new MeanAccumulator(state.Signature!, ordered.Sum(u => Weight(u.Contribution)), _mergeBuffers);
            foreach (var (contribution, hash) in ordered)
            {
                accumulator.Add(new Contribution(contribution.Key, await store.GetAsync(hash, cancellationToken), Weight(contribution)));
            }
            var mean = accumulator.Finish();
            var (previous, before) = (state.MergedOf(state.Round.Number - 1), state.MergedOf(state.Round.Number - 2));
            if (previous is null || before is null || state.Round.Number < 2)
            {
                return (mean, $"mean of {ordered.Count} models (no momentum before two merges)");
            }
            momentum.ApplyMomentum(mean, await LoadMergedAsync(state, previous, cancellationToken), await LoadMergedAsync(state, before, cancellationToken));
            return (mean, $"mean of {ordered.Count} models + {momentum.Beta} x the last merged update");
        }
        var contributions = new List<Contribution>(ordered.Count);
        foreach (var (contribution, hash) in ordered)
        {
            contributions.Add(new Contribution(contribution.Key, await store.GetAsync(hash, cancellationToken), Weight(contribution)));
        }
        if (method is CentredClipping clipping && state.MergedOf(state.Round.Number - 1) is { } last)
        {
            var around = clipping.MergeAround(contributions, await LoadMergedAsync(state, last, cancellationToken), $"the merged model of round {last.Round}");
            return (around.Model, around.Note);
        }
        var result = method.Merge(contributions, _mergeBuffers);
        return (result.Model, result.Note);
    }
}
