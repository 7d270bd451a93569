using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Cli.Demo;

/// <summary>A softmax-regression classifier trained by mini-batch SGD: a small but real ML program for the demo.</summary>
internal sealed class SoftmaxSession(DataSet train, DataSet validation, int seed, int batchSize = 32, float learningRate = 0.05f) : IMlSession
{
    private const int C = SyntheticData.Classes, F = SyntheticData.Features;
    private readonly Random _random = new(seed);
    private float[] _weights = Init(seed);
    private float[] _bias = new float[C];
    private long _steps;

    public int BatchesPerEpoch => Math.Max(1, train.Count / batchSize);

    private static float[] Init(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, C * F).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f)];
    }

    public Task TrainBatchAsync(CancellationToken cancellationToken)
    {
        var gradW = new float[C * F];
        var gradB = new float[C];
        var p = new float[C];
        for (int n = 0; n < batchSize; n++)
        {
            int row = _random.Next(train.Count);
            Probabilities(train.Features[row], p);
            p[train.Labels[row]] -= 1;
            for (int c = 0; c < C; c++)
            {
                gradB[c] += p[c];
                for (int f = 0; f < F; f++)
                {
                    gradW[c * F + f] += p[c] * train.Features[row][f];
                }
            }
        }
        float step = learningRate / batchSize;
        for (int i = 0; i < gradW.Length; i++)
        {
            _weights[i] -= step * gradW[i];
        }
        for (int c = 0; c < C; c++)
        {
            _bias[c] -= step * gradB[c];
        }
        _steps++;
        return Task.CompletedTask;
    }

    public ModelState GetParameters() => new(
    [
        Tensor.FromFloats("linear.weight", [C, F], _weights),
        Tensor.FromFloats("linear.bias", [C], _bias),
        Tensor.FromInt64("steps", [], [_steps]),
    ]);

    public void LoadParameters(ModelState model)
    {
        _weights = model["linear.weight"].AsSpan<float>().ToArray();
        _bias = model["linear.bias"].AsSpan<float>().ToArray();
        _steps = model["steps"].AsSpan<long>()[0];
    }

    public Evaluation? Evaluate() => Score(validation);

    /// <summary>Cross-entropy loss and accuracy on a data set.</summary>
    public Evaluation Score(DataSet data)
    {
        var p = new float[C];
        double loss = 0;
        int correct = 0;
        for (int row = 0; row < data.Count; row++)
        {
            Probabilities(data.Features[row], p);
            loss -= Math.Log(Math.Max(p[data.Labels[row]], 1e-7f));
            int best = 0;
            for (int c = 1; c < C; c++)
            {
                best = p[c] > p[best] ? c : best;
            }
            correct += best == data.Labels[row] ? 1 : 0;
        }
        return new Evaluation(loss / data.Count, (double)correct / data.Count);
    }

    private void Probabilities(float[] x, float[] p)
    {
        float max = float.MinValue;
        for (int c = 0; c < C; c++)
        {
            float z = _bias[c];
            for (int f = 0; f < F; f++)
            {
                z += _weights[c * F + f] * x[f];
            }
            p[c] = z;
            max = Math.Max(max, z);
        }
        float sum = 0;
        for (int c = 0; c < C; c++)
        {
            p[c] = MathF.Exp(p[c] - max);
            sum += p[c];
        }
        for (int c = 0; c < C; c++)
        {
            p[c] /= sum;
        }
    }
}
