using SwarmLearning.Protocol.Node;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.TorchSharp.Data;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// One node's training on its share of a split, built the same way by `swarm simulate`, the Fashion-MNIST example (what
/// `swarm up` runs) and their baselines, so that a simulated and a deployed node train alike.
/// </summary>
public static class NodeTraining
{
    /// <summary>
    /// The batches in one epoch of every node when all make the same number of local steps: the average share's
    /// (docs/simulate.md, "equal steps").
    /// </summary>
    public static int EqualBatches(IReadOnlyList<int> shareSizes, int batchSize) =>
        Math.Max(1, (int)Math.Ceiling(shareSizes.Average() / batchSize));

    /// <summary>
    /// Node <paramref name="index"/>'s session on its share <paramref name="data"/> (its initial weights seeded by
    /// <paramref name="seed"/>, the same on every node; its batches by <paramref name="seed"/> × 100 + index; the recipe's
    /// schedule over the whole run) and the program to train: with <paramref name="equalSteps"/> its epochs have
    /// <see cref="EqualBatches"/> batches of the split's <paramref name="shareSizes"/>.
    /// </summary>
    public static (TorchSession Session, IMlSession Program) Create(
        string model, ImageSet data, IReadOnlyList<int> shareSizes, int index, ImageSet validation, int seed, TrainingRecipe recipe, int epochs, bool equalSteps)
    {
        int batches = equalSteps
            ? EqualBatches(shareSizes, recipe.BatchSize)
            : Math.Max(1, (data.Count + recipe.BatchSize - 1) / recipe.BatchSize);
        var session = new TorchSession(model, data, validation, seed * 100 + index, recipe.ForRun(epochs * (long)batches), initialSeed: seed);
        return (session, equalSteps ? new FixedLengthEpochs(session, batches) : session);
    }

    /// <summary>Trains <paramref name="data"/> alone for <paramref name="epochs"/> epochs of its own (the recipe without swarm levers); returns the test accuracy.</summary>
    public static double TrainAlone(string model, ImageSet data, ImageSet validation, ImageSet test, int seed, TrainingRecipe recipe, int epochs, CancellationToken cancellationToken)
    {
        int batches = Math.Max(1, (data.Count + recipe.BatchSize - 1) / recipe.BatchSize);
        using var session = new TorchSession(model, data, validation, seed, recipe.Plain.ForRun(epochs * (long)batches));
        for (int batch = 0; batch < epochs * batches; batch++)
        {
            session.TrainBatchAsync(cancellationToken).GetAwaiter().GetResult();
        }
        return session.Score(test).Metric;
    }
}
