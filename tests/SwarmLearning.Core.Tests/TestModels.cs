using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

/// <summary>Small seeded models for tests.</summary>
internal static class TestModels
{
    public static ModelState Random(int seed, float scale = 1f, int width = 5)
    {
        var random = new Random(seed);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale)];
        return new ModelState(
        [
            Tensor.FromFloats("fc1.weight", [width, 3], Values(width * 3)),
            Tensor.FromFloats("fc1.bias", [width], Values(width)),
            Tensor.FromInt64("bn.num_batches_tracked", [], [random.Next(0, 100)]),
        ]);
    }

    public static float[] Floats(ModelState model, string name) => model[name].AsSpan<float>().ToArray();
}
