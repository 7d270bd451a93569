using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

/// <summary>
/// Gives a session epochs of a set number of batches, whatever its data size (the session cycles through its data).
/// `swarm simulate` and the examples use it so that every node makes the same number of local steps per epoch, as
/// federated-averaging experiments do: with a skewed split, nodes with little data would otherwise finish their epochs
/// long before the others and keep offering stale models (docs/simulate.md).
/// </summary>
public sealed class FixedLengthEpochs(IMlSession inner, int batchesPerEpoch) : IMlSession
{
    /// <inheritdoc />
    public int BatchesPerEpoch { get; } = batchesPerEpoch > 0 ? batchesPerEpoch : throw new ArgumentOutOfRangeException(nameof(batchesPerEpoch));

    /// <inheritdoc />
    public long SampleCount => inner.SampleCount;

    /// <inheritdoc />
    public Task TrainBatchAsync(CancellationToken cancellationToken) => inner.TrainBatchAsync(cancellationToken);

    /// <inheritdoc />
    public ModelState GetParameters() => inner.GetParameters();

    /// <inheritdoc />
    public void LoadParameters(ModelState model) => inner.LoadParameters(model);

    /// <inheritdoc />
    public Evaluation? Evaluate() => inner.Evaluate();
}
