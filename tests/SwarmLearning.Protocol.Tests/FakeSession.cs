using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Tests;

/// <summary>
/// A deterministic stand-in for an ML program: each batch moves the weights a step toward this node's own optimum
/// (its "local data"); the swarm's shared optimum is the mean of all nodes' optima, and loss is the distance to it.
/// A batch takes simulated time, so slow nodes are slow.
/// </summary>
internal sealed class FakeSession(int seed, TimeProvider time, TimeSpan batchTime, float[] sharedOptimum, int batchesPerEpoch = 4) : IMlSession
{
    public const int Size = 12;
    private float[] _weights = Init(seed);
    private long _batches;

    public int BatchesPerEpoch => batchesPerEpoch;

    public int LoadCount { get; private set; }

    public static float[] Optimum(int seed) => [.. Enumerable.Range(0, Size).Select(i => (float)((seed * 7 + i * 3) % 11) - 5f)];

    private static float[] Init(int seed) => [.. Enumerable.Range(0, Size).Select(i => (float)Math.Sin(seed * 13 + i))];

    public async Task TrainBatchAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(batchTime, time, cancellationToken);
        Step();
    }

    /// <summary>One batch of local training, without the simulated time.</summary>
    public void Step()
    {
        var target = Optimum(seed);
        for (int i = 0; i < Size; i++)
        {
            _weights[i] += 0.25f * (target[i] - _weights[i]);
        }
        _batches++;
    }

    public ModelState GetParameters() => new(
    [
        Tensor.FromFloats("layer.weight", [3, 4], _weights),
        Tensor.FromInt64("bn.num_batches_tracked", [], [_batches]),
    ]);

    public void LoadParameters(ModelState model)
    {
        _weights = model["layer.weight"].AsSpan<float>().ToArray();
        _batches = model["bn.num_batches_tracked"].AsSpan<long>()[0];
        LoadCount++;
        Loaded.Add(Core.Files.SafetensorsWriter.Hash(model));
        LoadedNonFinite |= _weights.Any(w => !float.IsFinite(w));
    }

    /// <summary>Every model the program loaded, in order (by content hash).</summary>
    public List<Core.Files.ContentHash> Loaded { get; } = [];

    /// <summary>Whether the program was ever handed a model holding NaN or infinity.</summary>
    public bool LoadedNonFinite { get; private set; }

    public Evaluation? Evaluate() => new(_weights.Select((w, i) => Math.Pow(w - sharedOptimum[i], 2)).Sum(), 0);
}
