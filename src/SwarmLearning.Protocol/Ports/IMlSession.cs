using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Ports;

/// <summary>Validation results a node reports after a merge.</summary>
public sealed record Evaluation(double Loss, double Metric);

/// <summary>
/// The user's ML program as the training loop drives it: train a batch, hand over parameters, load merged ones,
/// evaluate on validation data. Implemented by the simulator's trainers and by the ML channel of an SL node.
/// </summary>
public interface IMlSession
{
    /// <summary>The number of local batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>Trains one local batch.</summary>
    Task TrainBatchAsync(CancellationToken cancellationToken);

    /// <summary>Returns the whole model state (weights and buffers).</summary>
    ModelState GetParameters();

    /// <summary>Replaces the model state with <paramref name="model"/>.</summary>
    void LoadParameters(ModelState model);

    /// <summary>Evaluates on validation data; null when the program has none.</summary>
    Evaluation? Evaluate();
}
