// Linear regression (nn.Linear(FEATURES, 1)) on this node's synthetic data, in a swarm through the TorchSharp
// SwarmCallback. Arguments: --seed N --epochs E --batches B --sync S --min-peers M --contract C --features F --delay-ms D
using System.Globalization;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using SwarmLearning.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

var arguments = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2)
{
    arguments[args[i].TrimStart('-')] = args[i + 1];
}
int Arg(string name, int fallback) => arguments.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
int seed = Arg("seed", 1), epochs = Arg("epochs", 3), batches = Arg("batches", 10), features = Arg("features", 8), delay = Arg("delay-ms", 0);

manual_seed(seed);
var truth = arange(1, 9, dtype: float32).reshape(1, 8)[.., ..Math.Min(features, 8)] / 4;
var model = nn.Linear(features, 1);
var optimizer = optim.SGD(model.parameters(), 0.05);
Tensor Batch(out Tensor target)
{
    var x = randn(32, features) + seed * 0.1; // each node sees a shifted input distribution
    target = x.matmul(truth.T.expand(features, 1)) + 0.5;
    return x;
}
var parameters = new SwarmParameters(Arg("sync", 5), Arg("min-peers", 2)) { TrainingContract = arguments.GetValueOrDefault("contract", "linear"), TotalEpochs = epochs };
using var swarm = new SwarmCallback(model, parameters, () =>
{
    using var _ = no_grad();
    var x = Batch(out var y);
    return new Evaluation(nn.functional.mse_loss(model.call(x), y).item<float>(), 0);
});
await swarm.OnTrainBeginAsync();
Console.WriteLine($"started from round {swarm.Last!.Round}");
for (int epoch = 0; epoch < epochs && !swarm.TrainingOver; epoch++)
{
    for (int b = 0; b < batches && !swarm.TrainingOver; b++)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var x = Batch(out var y);
        nn.functional.mse_loss(model.call(x), y).backward();
        optimizer.step();
        await swarm.OnBatchEndAsync();
        if (delay > 0)
        {
            await Task.Delay(delay);
        }
    }
    swarm.OnEpochEnd();
    Console.WriteLine($"epoch {epoch + 1}/{epochs} done at round {swarm.Last!.Round}");
}
await swarm.OnTrainEndAsync();
Console.WriteLine($"final model {swarm.Last!.Sha256} round {swarm.Last.Round}");
