// An LSTM that tells four waveforms apart (sine, square, sawtooth, triangle; random frequency, phase and noise) from
// 32-step sequences, trained in a swarm. Each node sees mostly (75 %) two of the four shapes (label skew), so alone it cannot
// classify the others; the swarm's merged model covers all four. Run it through an SL node:
//   swarm run-sl --name node1 ... --ml-cmd "dotnet lstm-waveforms.dll --node 0 --nodes 2"
using System.Globalization;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using SwarmLearning.TorchSharp;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

var arguments = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2)
{
    arguments[args[i].TrimStart('-')] = args[i + 1];
}
int Arg(string name, int fallback) => arguments.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
int node = Arg("node", 0), nodes = Arg("nodes", 1), epochs = Arg("epochs", 6), batches = Arg("batches", 150);

manual_seed(node + 1);
var random = new Random(node + 1);
var model = new WaveformLstm();
var recipe = new TrainingRecipe("adam", 3e-3, "constant", BatchSize: 32); // the recipe type simulate and the Fashion-MNIST example use, with this task's values
var optimizer = recipe.Create(model.parameters());
var (testX, testY) = Waveforms.Batch(new Random(99), 512, skewTowards: null);

(double Loss, double Accuracy) Evaluate()
{
    using var _ = no_grad();
    model.eval();
    using var logits = model.call(testX);
    return (nn.functional.cross_entropy(logits, testY).item<float>(), logits.argmax(1).eq(testY).to_type(ScalarType.Float32).mean().item<float>());
}

var parameters = new SwarmParameters(Arg("sync-frequency", 50), Arg("min-peers", 2)) { TrainingContract = arguments.GetValueOrDefault("contract", "waveforms"), TotalEpochs = epochs };
using var swarm = new SwarmCallback(model, parameters, () => Evaluate() is var (loss, accuracy) ? new Evaluation(loss, accuracy) : null);
await swarm.OnTrainBeginAsync();
int[] mine = [(2 * node) % 4, (2 * node + 1) % 4];
Console.WriteLine($"node {node + 1}/{nodes}: mostly waveforms {string.Join(" and ", mine.Select(c => Waveforms.Names[c]))}");
for (int epoch = 0; epoch < epochs && !swarm.TrainingOver; epoch++)
{
    model.train();
    for (int b = 0; b < batches && !swarm.TrainingOver; b++)
    {
        using var scope = NewDisposeScope();
        var (x, y) = Waveforms.Batch(random, recipe.BatchSize, skewTowards: mine, skew: Arg("skew-percent", 75) / 100.0);
        optimizer.zero_grad();
        nn.functional.cross_entropy(model.call(x), y).backward();
        optimizer.step();
        await swarm.OnBatchEndAsync();
    }
    swarm.OnEpochEnd();
    var (l, a) = Evaluate();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}/{epochs}: round {swarm.Last?.Round}, test loss {l:F4}, accuracy {a:P1}"));
}
await swarm.OnTrainEndAsync();
var (finalLoss, finalAccuracy) = Evaluate();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final swarm model {swarm.Last!.Sha256[..12]} (round {swarm.Last.Round}): accuracy {finalAccuracy:P1} on all four waveforms"));

/// <summary>Classifies a sequence from the LSTM's last output.</summary>
internal sealed class WaveformLstm : nn.Module<Tensor, Tensor>
{
    private readonly LSTM _lstm = nn.LSTM(1, 48, batchFirst: true);
    private readonly Linear _head = nn.Linear(48, 4);

    public WaveformLstm() : base("waveform_lstm") => RegisterComponents();

    public override Tensor forward(Tensor input)
    {
        var (output, hidden, cell) = _lstm.call(input);
        hidden.Dispose();
        cell.Dispose();
        return _head.call(output.select(1, -1));
    }
}

/// <summary>Synthetic sequences: four shapes, random frequency, phase, amplitude and noise.</summary>
internal static class Waveforms
{
    public const int Length = 32;

    public static readonly string[] Names = ["sine", "square", "sawtooth", "triangle"];

    /// <summary>A batch; with <paramref name="skewTowards"/>, a share <paramref name="skew"/> of the sequences are of those classes.</summary>
    public static (Tensor X, Tensor Y) Batch(Random random, int count, int[]? skewTowards, double skew = 0.9)
    {
        var values = new float[count * Length];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            int label = skewTowards is not null && random.NextDouble() < skew ? skewTowards[random.Next(skewTowards.Length)] : random.Next(4);
            double frequency = 1 + 2 * random.NextDouble(), phase = random.NextDouble(), amplitude = 0.5 + random.NextDouble();
            for (int t = 0; t < Length; t++)
            {
                double cycle = (frequency * t / Length + phase) % 1.0;
                double value = label switch
                {
                    0 => Math.Sin(2 * Math.PI * cycle),
                    1 => cycle < 0.5 ? 1 : -1,
                    2 => 2 * cycle - 1,
                    _ => 1 - 4 * Math.Abs(cycle - 0.5),
                };
                values[i * Length + t] = (float)(amplitude * value + 0.1 * (random.NextDouble() - 0.5));
            }
            labels[i] = label;
        }
        return (tensor(values, [count, Length, 1]), tensor(labels));
    }
}
