namespace SwarmLearning.Core.Merging;

/// <summary>
/// A merge that tolerates a bounded number of arbitrary (Byzantine) models, but only when enough models take part:
/// contracts whose quorum cannot meet <see cref="MinimumModels"/> are refused when created.
/// </summary>
public interface IRobustMerge : IMergeMethod
{
    /// <summary>The fewest models a merge needs for the guarantee (Krum: 2f + 3; Bulyan: 4f + 3).</summary>
    int MinimumModels { get; }

    /// <summary>The assumption, in words, for error messages and docs.</summary>
    string Assumption { get; }
}
