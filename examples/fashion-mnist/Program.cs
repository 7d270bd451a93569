// A Fashion-MNIST CNN trained in a swarm: this node trains on its own shard (label-skewed, so that alone it misses
// classes), and the SwarmCallback merges what every node learned. Run it through an SL node:
//   swarm run-sl --name node1 ... --ml-cmd "dotnet fashion-mnist.dll --shard 0 --shards 3"
// Every option has a default; see README.md.
using System.Globalization;
using System.Text.Json;
using SwarmLearning.MlClient;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;

var options = Options.Parse(args);
var (train, test) = FashionMnist.Load(options.DataDirectory);
var mine = Partitioner.Shard(train, options.Shard, options.Shards, options.Partition, options.Limit); // the same split on every node
var validation = test.Take(options.ValidationSize);
Console.WriteLine($"node shard {options.Shard + 1}/{options.Shards}: {mine.Count} images, classes {string.Join(' ', mine.Labels.Distinct().Order())}");

using var session = new TorchSession(options.Model, mine, validation, seed: options.Shard + 1, batchSize: options.BatchSize);
var parameters = new SwarmParameters(options.SyncFrequency, options.MinPeers)
{
    TrainingContract = options.Contract, MergeMethod = options.Merge, TotalEpochs = options.Epochs, UseAdaptiveSync = options.Adaptive,
};
using var swarm = new SwarmCallback(session.Model, parameters, () => session.Evaluate() is { } e ? new Validation(e.Loss, e.Metric) : null);

await swarm.OnTrainBeginAsync();
for (int epoch = 0; epoch < options.Epochs && !swarm.TrainingOver; epoch++)
{
    for (int batch = 0; batch < session.BatchesPerEpoch && !swarm.TrainingOver; batch++)
    {
        await session.TrainBatchAsync(CancellationToken.None);
        await swarm.OnBatchEndAsync();
    }
    swarm.OnEpochEnd();
    var score = session.Evaluate()!;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}/{options.Epochs}: round {swarm.Last?.Round}, validation loss {score.Loss:F4}, accuracy {score.Metric:P2}"));
}
await swarm.OnTrainEndAsync();

var final = session.Score(options.TestSize > 0 ? test.Take(options.TestSize) : test);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final swarm model {swarm.Last!.Sha256[..12]} (round {swarm.Last.Round}): test accuracy {final.Metric:P2}"));
if (Environment.GetEnvironmentVariable("SWARM_MODEL_DIR") is { } modelDir)
{
    File.WriteAllText(Path.Combine(modelDir, "result.json"), JsonSerializer.Serialize(new { model = swarm.Last.Sha256, round = swarm.Last.Round, accuracy = final.Metric, loss = final.Loss }));
}

internal sealed record Options(int Shard, int Shards, string Partition, int Epochs, int SyncFrequency, int MinPeers, string Model, string Merge, string Contract,
    int Limit, int ValidationSize, int TestSize, int BatchSize, bool Adaptive, string DataDirectory)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected '{args[i]}': options are --name value");
            }
            values[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }
        string Get(string name, string fallback) => values.Remove(name, out var v) ? v : fallback;
        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var options = new Options(Int("shard", 0), Int("shards", 1), Get("partition", "dirichlet:0.5"), Int("epochs", 2), Int("sync-frequency", 20),
            Int("min-peers", 2), Get("model", "cnn"), Get("merge", "mean"), Get("contract", "fashion-mnist"), Int("limit", 0), Int("validation", 2000), Int("test", 0),
            Int("batch-size", 64), bool.Parse(Get("adaptive", "false")), Get("data", FashionMnist.DefaultDirectory));
        if (values.Count > 0)
        {
            throw new ArgumentException($"unknown option(s) {string.Join(", ", values.Keys.Select(k => "--" + k))}; see examples/fashion-mnist/README.md");
        }
        if (options.Shard < 0 || options.Shard >= options.Shards)
        {
            throw new ArgumentException($"--shard {options.Shard} must be between 0 and {options.Shards - 1} (--shards {options.Shards})");
        }
        return options;
    }
}
