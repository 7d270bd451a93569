namespace SwarmLearning.Protocol.Node;

/// <summary>
/// useAdaptiveSync: the number of local batches between syncs grows by half while validation loss improves (syncing less
/// while the model learns well on its own) and halves when it does not, between a quarter and eight times the start.
/// </summary>
public sealed class AdaptiveSyncInterval(int start, bool enabled)
{
    /// <summary>A loss must fall by more than this share to count as an improvement.</summary>
    public const double MinImprovement = 0.005;

    private double? _previousLoss;

    /// <summary>The current interval in batches.</summary>
    public int Current { get; private set; } = start;

    /// <summary>The smallest interval.</summary>
    public int Min { get; } = Math.Max(1, start / 4);

    /// <summary>The largest interval.</summary>
    public int Max { get; } = start * 8;

    /// <summary>Takes the validation loss measured after a merge and adjusts the interval.</summary>
    public void Observe(double loss)
    {
        if (!enabled || !double.IsFinite(loss))
        {
            return;
        }
        if (_previousLoss is double previous)
        {
            Current = loss < previous * (1 - MinImprovement)
                ? Math.Min(Max, (int)Math.Ceiling(Current * 1.5))
                : Math.Max(Min, Current / 2);
        }
        _previousLoss = loss;
    }
}
