using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Ports;

/// <summary>Validation results a node reports after a merge.</summary>
public sealed record Evaluation(double Loss, double Metric);

/// <summary>
/// A model as the swarm callback sees it: its whole state out, a merged state in. What the implementation does on load
/// (FedProx's anchor, SCAFFOLD's variates, an optimizer reset) happens wherever the callback runs.
/// </summary>
public interface ISwarmModel
{
    /// <summary>Returns the whole model state (weights and buffers).</summary>
    ModelState GetParameters();

    /// <summary>Replaces the model state with <paramref name="model"/>.</summary>
    void LoadParameters(ModelState model);
}

/// <summary>
/// An ML program's training as <see cref="Session.SwarmProgram"/> runs it: train a batch, evaluate on validation data, and
/// hand its model to the swarm callback. The simulator's trainers, the examples and the test programs implement it.
/// </summary>
public interface IMlSession : ISwarmModel
{
    /// <summary>The number of local batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The training samples the program holds (0 when unknown); the node's merge weight counts them.</summary>
    long SampleCount => 0;

    /// <summary>Trains one local batch.</summary>
    Task TrainBatchAsync(CancellationToken cancellationToken);

    /// <summary>Evaluates on validation data; null when the program has none.</summary>
    Evaluation? Evaluate();
}
