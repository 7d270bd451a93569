using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// FedAvgM: the weighted mean plus server momentum. With a server learning rate of 1 the momentum buffer is the last
/// merged update itself, so <c>w_t = mean_t + beta * (w_{t-1} - w_{t-2})</c>, where <c>w_{t-1}</c> and <c>w_{t-2}</c>
/// are the two previous merged models (both named on the ledger): no state beyond the chain. The round engine supplies
/// them (<see cref="ApplyMomentum"/>); on its own this merges as the mean. Meant for label-skewed data, where it damps
/// the nodes' drift (Hsu et al., 2019).
/// </summary>
/// <param name="Beta">The momentum, in [0, 1).</param>
public sealed record ServerMomentum(double Beta) : IMergeMethod
{
    /// <summary>
    /// Tensors named with this prefix are state the ML program shares that is not a weight (SCAFFOLD's control
    /// variates): they get the mean alone, since momentum on them would replay last round's change.
    /// </summary>
    public const string MeanOnlyPrefix = "swarm.mean-only.";

    private readonly WeightedMean _mean = new();

    /// <inheritdoc />
    public string Name => FormattableString.Invariant($"fedavgm:{Beta}");

    /// <inheritdoc />
    public MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null) => _mean.Merge(contributions, reuse);

    /// <summary>
    /// Adds <c>beta * (previous - beforePrevious)</c> to every float32 tensor (but mean-only ones) of <paramref name="merged"/>,
    /// in place, in double with one rounding (the same bits on every host: <see cref="Reproducible"/>).
    /// </summary>
    public void ApplyMomentum(ModelState merged, ModelState previous, ModelState beforePrevious)
    {
        foreach (var tensor in merged.Tensors)
        {
            if (tensor.Spec.DType != DType.F32 || tensor.Name.StartsWith(MeanOnlyPrefix, StringComparison.Ordinal))
            {
                continue; // counters, integer buffers and mean-only state keep the mean's value
            }
            Reproducible.WeightedSum([tensor.Data, previous[tensor.Spec.Name].Data, beforePrevious[tensor.Spec.Name].Data], [1, Beta, -Beta], tensor.Data);
        }
    }
}
