using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Bench;

/// <summary>Seeded synthetic models shaped like a real network's state (a few big tensors, some small ones).</summary>
internal static class Models
{
    public static ModelState Make(int seed, long parameters)
    {
        var random = new Random(seed);
        var sizes = new[] { parameters * 6 / 10, parameters * 3 / 10, parameters / 10 - 1000, 1000 };
        var tensors = sizes.Select((n, i) =>
        {
            var values = new float[n];
            for (int j = 0; j < values.Length; j++)
            {
                values[j] = (float)(random.NextDouble() - 0.5);
            }
            return Tensor.FromFloats($"layer{i}.weight", [n], values);
        }).ToList();
        tensors.Add(Tensor.FromInt64("bn.num_batches_tracked", [], [seed]));
        return new ModelState(tensors);
    }

    public static List<Contribution> Swarm(int count, long parameters) =>
        [.. Enumerable.Range(0, count).Select(i => new Contribution($"node{i}", Make(i + 1, parameters), 1 + i % 3))];
}
