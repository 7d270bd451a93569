// A Fashion-MNIST CNN trained in a swarm: this node trains on its own shard (label-skewed, so that alone it misses
// classes), and the SwarmCallback merges what every node learned. Run it through an SL node:
//   swarm run-sl --name node1 ... --ml-cmd "dotnet fashion-mnist.dll --shard 0 --shards 3"
// Every option has a default; see README.md. `swarm simulate` runs this very training (NodeTraining, SwarmProgram)
// for every node in one process.
using System.Globalization;
using System.Text.Json;
using SwarmLearning.Core;
using SwarmLearning.Protocol.Session;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;

Options options;
try
{
    options = Options.Parse(args);
}
catch (SwarmException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
torch.set_num_threads(options.Threads); // nodes on one machine share its cores
var (train, test) = FashionMnist.Load(options.DataDirectory);
var rows = Partitioner.ShareRows(train.Labels, options.Shards, options.Partition, options.Seed, options.Limit); // the same split on every node
var mine = train.Select(rows[options.Shard]);
var validation = test.Take(options.ValidationSize);
Console.WriteLine($"node shard {options.Shard + 1}/{options.Shards}: {mine.Count} images, classes {string.Join(' ', mine.Labels.Distinct().Order())}; " +
    $"recipe {string.Join(' ', options.Recipe.ToArguments())}");

var (session, program) = NodeTraining.Create(options.Model, mine, [.. rows.Select(r => r.Length)], options.Shard, validation, options.Seed, options.Recipe, options.Epochs, options.EqualSteps);
using (session)
{
    var parameters = new SwarmParameters(options.SyncFrequency, options.MinPeers)
    {
        TrainingContract = options.Contract, MergeMethod = options.Merge, TotalEpochs = options.Epochs, UseAdaptiveSync = options.Adaptive,
        CheckinModelOnTrainEnd = options.TrainEnd,
    };
    using var swarm = new SwarmCallback(program, parameters, session.Evaluate); // weighs this node by its images (sampleCount)
    int shownEpoch = 0;
    var final = await SwarmProgram.RunAsync(program, swarm.Session, options.Epochs, progress =>
    {
        if (progress.Epoch > shownEpoch && !progress.Done)
        {
            shownEpoch = progress.Epoch;
            var score = progress.Evaluation ?? session.Evaluate()!; // validation after the last merge
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {progress.Epoch}/{progress.TotalEpochs}: round {progress.Round}, validation loss {score.Loss:F4}, accuracy {score.Metric:P2}"));
        }
    }, CancellationToken.None);

    var score = session.Score(options.TestSize > 0 ? test.Take(options.TestSize) : test);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final swarm model {final.Sha256[..12]} (round {final.Round}): test accuracy {score.Metric:P2}"));
    if (Environment.GetEnvironmentVariable("SWARM_MODEL_DIR") is { } modelDir)
    {
        File.WriteAllText(Path.Combine(modelDir, "result.json"), JsonSerializer.Serialize(new { model = final.Sha256, round = final.Round, accuracy = score.Metric, loss = score.Loss }));
    }
}
return 0;

internal sealed record Options(int Shard, int Shards, string Partition, int Seed, int Epochs, int SyncFrequency, int MinPeers, string Model, string Merge, string Contract,
    int Limit, int ValidationSize, int TestSize, bool Adaptive, bool EqualSteps, string TrainEnd, int Threads, TrainingRecipe Recipe, string DataDirectory)
{
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new SwarmException($"unexpected '{args[i]}': options are --name value");
            }
            values[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }
        string? Take(string name) => values.Remove(name, out var v) ? v : null;
        string Get(string name, string fallback) => Take(name) ?? fallback;
        int Int(string name, int fallback) => Take(name) is { } text
            ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : throw new SwarmException($"--{name} '{text}' is not a whole number")
            : fallback;
        bool Bool(string name, bool fallback) => Take(name) is { } text
            ? bool.TryParse(text, out bool value) ? value : throw new SwarmException($"--{name} '{text}' is not true or false")
            : fallback;
        var options = new Options(Int("shard", 0), Int("shards", 1), Get("partition", "dirichlet:0.5"), Int("seed", 1), Int("epochs", 2), Int("sync-frequency", 10),
            Int("min-peers", 2), Get("model", "cnn"), Get("merge", "mean"), Get("contract", "fashion-mnist"), Int("limit", 0), Int("validation", 2000), Int("test", 0),
            Bool("adaptive", false), Bool("equal-steps", true), Get("train-end", "snapshot"), Int("threads", 1), TrainingRecipe.FromArguments(Take),
            Get("data", FashionMnist.DefaultDirectory));
        if (values.Count > 0)
        {
            throw new SwarmException($"unknown option(s) {string.Join(", ", values.Keys.Select(k => "--" + k))}; see examples/fashion-mnist/README.md");
        }
        if (options.Shard < 0 || options.Shard >= options.Shards)
        {
            throw new SwarmException($"--shard {options.Shard} must be between 0 and {options.Shards - 1} (--shards {options.Shards})");
        }
        Partitioner.CheckSpecification(options.Partition);
        return options;
    }
}
