using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;

namespace SwarmLearning.Cli.Simulate;

/// <summary>What the swarm is compared with, in `swarm simulate` and `swarm up` alike: each node trained alone on its share, and one model on all of it pooled.</summary>
internal static class Baselines
{
    /// <summary>Each share trained alone (one thread each, side by side), seeded as its swarm node; test accuracies.</summary>
    public static async Task<List<double>> AloneAsync(string model, IReadOnlyList<ImageSet> shares, ImageSet validation, ImageSet test, int seed,
        TrainingRecipe recipe, int epochs, CancellationToken cancellationToken)
    {
        var runs = shares.Select((share, i) => Task.Factory.StartNew(() =>
        {
            torch.set_num_threads(1);
            return NodeTraining.TrainAlone(model, share, validation, test, seed * 100 + i, recipe, epochs, cancellationToken);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        return [.. await Task.WhenAll(runs)];
    }

    /// <summary>One model on all the data pooled, on every core; its test accuracy.</summary>
    public static Task<double> PooledAsync(string model, ImageSet pooled, ImageSet validation, ImageSet test, int seed,
        TrainingRecipe recipe, int epochs, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() =>
        {
            torch.set_num_threads(Environment.ProcessorCount);
            return NodeTraining.TrainAlone(model, pooled, validation, test, seed * 100, recipe, epochs, cancellationToken);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
