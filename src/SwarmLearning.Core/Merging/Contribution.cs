using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>One node's model offered to a merge, with its weight (node weightage, possibly discounted for staleness).</summary>
public sealed record Contribution(string NodeId, ModelState Model, double Weight);

/// <summary>The merged model and a one-line note on how the merge went (for logs and the round record).</summary>
public sealed record MergeResult(ModelState Model, string Note);

/// <summary>A rule that merges several nodes' models into one.</summary>
public interface IMergeMethod
{
    /// <summary>The method's name as written in contracts and on the command line (e.g. "mean", "trimmedmean:0.2").</summary>
    string Name { get; }

    /// <summary>Merges the contributions; throws <see cref="MergeException"/> naming the node and tensor on bad input.</summary>
    /// <param name="contributions">The models with their weights.</param>
    /// <param name="reuse">
    /// A model of the same signature whose float32 buffers may be overwritten with the result (e.g. the previous
    /// round's merged model, once saved): fresh memory costs page faults, which on some machines cost more than the merge.
    /// </param>
    MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null);
}
