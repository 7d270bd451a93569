using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

/// <summary>What merging a round's usable contributions gives: a new model, or the last merged model carried over.</summary>
/// <param name="Model">The merged model (null when carried over).</param>
/// <param name="Hash">Its content hash, or the carried model's.</param>
/// <param name="Note">How the merge went, for the log.</param>
public sealed record MergeOutcome(ModelState? Model, ContentHash Hash, string Note)
{
    /// <summary>True when nothing could be merged and the last merged model carries over.</summary>
    public bool CarriedOver => Model is null;
}

/// <summary>
/// A round's merge as a pure function of the contract's parameters, the usable contributions (in the canonical order of
/// their keys) and, for the methods that need them, the merged models of the rounds before: the leader computes it and
/// every auditor recomputes it with this same code, so an honest merge gives the same bytes everywhere
/// (docs/verification.md). When nothing can be merged (no usable model, or merging them overflows) the last merged
/// model carries over. A merged model is stored in the node's store (whose file server then serves it).
/// </summary>
public static class RoundMerge
{
    /// <summary>Loads a past merged model (from the local store, or fetched from a node that holds it).</summary>
    public delegate Task<ModelState> MergedModelSource(MergedRound merged, CancellationToken cancellationToken);

    /// <summary>Merges round <paramref name="round"/> of <paramref name="state"/> from <paramref name="usable"/>.</summary>
    /// <param name="state">The contract (parameters, signature, history).</param>
    /// <param name="round">The round merged.</param>
    /// <param name="usable">The contributions fetched and found valid.</param>
    /// <param name="store">Holds every usable contribution.</param>
    /// <param name="mergedOf">Loads the merged models of earlier rounds (centred clipping, server momentum).</param>
    /// <param name="reuse">Buffers the result may be written into (see <see cref="IMergeMethod.Merge"/>); null for fresh ones.</param>
    /// <param name="cancellationToken">Cancels the merge.</param>
    public static async Task<MergeOutcome> ComputeAsync(ContractState state, long round, IReadOnlyList<MergeContribution> usable,
        IParameterStore store, MergedModelSource mergedOf, ModelState? reuse, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(usable);
        ArgumentNullException.ThrowIfNull(store);
        var last = state.MergedOf(round - 1) ?? throw new SwarmException($"round {round - 1} has no merged model on the ledger");
        if (usable.Count == 0)
        {
            return new MergeOutcome(null, last.Hash, "no usable model: the last merged model carries over");
        }
        try
        {
            var (model, note) = await MergeAsync(state, round, usable, store, mergedOf, reuse, cancellationToken);
            if (ModelChecks.FirstNonFinite(model) is { } overflowed)
            {
                throw new MergeException($"the merged tensor '{overflowed}' overflowed to infinity or NaN");
            }
            return new MergeOutcome(model, await store.PutAsync(model, cancellationToken), note);
        }
        catch (MergeException e)
        {
            // The same inputs fail the same way for every leader: keep the last good model rather than stall the swarm.
            return new MergeOutcome(null, last.Hash, $"{e.Message}: the last merged model carries over");
        }
    }

    private static async Task<(ModelState Model, string Note)> MergeAsync(ContractState state, long round, IReadOnlyList<MergeContribution> usable,
        IParameterStore store, MergedModelSource mergedOf, ModelState? reuse, CancellationToken cancellationToken)
    {
        var method = MergeMethods.Parse(state.Parameters.MergeMethod);
        string fellBack = "";
        if (method is IRobustMerge robust && usable.Count < robust.MinimumModels)
        {
            // Models were left out (or came in with weight 0): the method's guarantee no longer holds, the median's still does.
            fellBack = $" ({method.Name} needs {robust.MinimumModels} models, {usable.Count} usable: merged by the coordinate median instead)";
            method = new CoordinateMedian();
        }
        var ordered = usable.OrderBy(u => u.Key, StringComparer.Ordinal).ToList();
        double Weight(MergeContribution c) => c.WeightMicros / (double)TrainingContract.WeightScale;
        if (method is WeightedMean or ServerMomentum)
        {
            // Streamed: one model at a time from disk, about three times the model in memory whatever the number of nodes.
            var accumulator = new MeanAccumulator(state.Signature!, Reproducible.Sum(ordered.Select(Weight)), reuse);
            foreach (var contribution in ordered)
            {
                accumulator.Add(new Contribution(contribution.Key, await store.GetAsync(contribution.ModelHash, cancellationToken), Weight(contribution)));
            }
            var mean = accumulator.Finish();
            if (method is not ServerMomentum momentum)
            {
                return (mean, $"mean of {ordered.Count} models, streamed{fellBack}");
            }
            if (round < 2 || state.MergedOf(round - 1) is not { } previous || state.MergedOf(round - 2) is not { } before)
            {
                return (mean, $"mean of {ordered.Count} models (no momentum before two merges)");
            }
            momentum.ApplyMomentum(mean, await mergedOf(previous, cancellationToken), await mergedOf(before, cancellationToken));
            return (mean, $"mean of {ordered.Count} models + {momentum.Beta} x the last merged update");
        }
        var contributions = new List<Contribution>(ordered.Count);
        foreach (var contribution in ordered)
        {
            contributions.Add(new Contribution(contribution.Key, await store.GetAsync(contribution.ModelHash, cancellationToken), Weight(contribution)));
        }
        if (method is CentredClipping clipping && state.MergedOf(round - 1) is { } centre)
        {
            var around = clipping.MergeAround(contributions, await mergedOf(centre, cancellationToken), $"the merged model of round {centre.Round}");
            return (around.Model, around.Note + fellBack);
        }
        var result = method.Merge(contributions, reuse);
        return (result.Model, result.Note + fellBack);
    }
}
