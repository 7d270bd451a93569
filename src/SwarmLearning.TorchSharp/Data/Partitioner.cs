using System.Globalization;
using SwarmLearning.Core;

namespace SwarmLearning.TorchSharp.Data;

/// <summary>
/// Seeded splits of a labelled data set among nodes, as federated-learning studies make them (NIID-Bench):
/// <c>iid</c> (shuffled, equal shares), <c>dirichlet:A</c> (label skew: each class is shared out by proportions drawn
/// from Dirichlet(A); small A, few classes per node), <c>quantity:A</c> (labels IID, sizes drawn from Dirichlet(A)).
/// </summary>
public static class Partitioner
{
    /// <summary>The accepted specifications, for help texts.</summary>
    public const string Help = "iid, dirichlet:ALPHA (label skew, e.g. dirichlet:0.5), quantity:ALPHA (size skew)";

    private const int MinimumPerNode = 10;

    /// <summary>Checks a specification's syntax without splitting anything; throws <see cref="SwarmException"/> if it is wrong.</summary>
    public static void CheckSpecification(string specification)
    {
        string[] parts = specification.Trim().ToLowerInvariant().Split(':', 2);
        switch (parts[0])
        {
            case "iid" when parts.Length == 1:
                return;
            case "dirichlet" or "quantity":
                Alpha(parts, specification);
                return;
            default:
                throw new SwarmException($"unknown partition '{specification}'; use one of: {Help}");
        }
    }

    /// <summary>
    /// Every node's share of <paramref name="train"/>, as each ML program of a swarm computes it (the same seed on every
    /// node gives the same split; a node keeps only its own). With <paramref name="limit"/> &gt; 0 each share is cut to a
    /// seeded sample of that many rows (shares list their rows class by class, so the first rows would be few classes).
    /// </summary>
    public static ImageSet[] Shares(ImageSet train, int shards, string specification, int seed, int limit = 0) =>
        [.. ShareRows(train.Labels, shards, specification, seed, limit).Select(train.Select)];

    /// <summary>The row indices of <see cref="Shares"/> (a node selects only its own rows).</summary>
    public static int[][] ShareRows(IReadOnlyList<byte> labels, int shards, string specification, int seed, int limit = 0) =>
        [.. Split(labels, shards, specification, seed).Select((indices, shard) =>
        {
            if (limit > 0 && limit < indices.Length)
            {
                new Random(shard).Shuffle(indices);
                indices = indices[..limit];
            }
            return indices;
        })];

    /// <summary>Returns the row indices of each node's share.</summary>
    public static int[][] Split(IReadOnlyList<byte> labels, int nodes, string specification, int seed)
    {
        if (nodes < 1)
        {
            throw new SwarmException($"cannot split data among {nodes} nodes");
        }
        if (labels.Count < nodes * MinimumPerNode)
        {
            throw new SwarmException($"{labels.Count} rows are too few for {nodes} nodes of at least {MinimumPerNode} rows each");
        }
        var random = new Random(seed);
        string[] parts = specification.Trim().ToLowerInvariant().Split(':', 2);
        return parts[0] switch
        {
            "iid" when parts.Length == 1 => Iid(labels.Count, nodes, random),
            "dirichlet" => Retry(() => LabelSkew(labels, nodes, Alpha(parts, specification), random), specification),
            "quantity" => Retry(() => QuantitySkew(labels.Count, nodes, Alpha(parts, specification), random), specification),
            _ => throw new SwarmException($"unknown partition '{specification}'; use one of: {Help}"),
        };
    }

    private static int[][] Iid(int count, int nodes, Random random)
    {
        var order = Shuffled(count, random);
        return [.. Enumerable.Range(0, nodes).Select(n => order.Where((_, i) => i % nodes == n).ToArray())];
    }

    private static int[][] LabelSkew(IReadOnlyList<byte> labels, int nodes, double alpha, Random random)
    {
        var shares = Enumerable.Range(0, nodes).Select(_ => new List<int>()).ToArray();
        foreach (var byClass in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var rows = byClass.OrderBy(_ => random.Next()).ToArray();
            var proportions = Dirichlet(alpha, nodes, random);
            int start = 0;
            for (int n = 0; n < nodes; n++)
            {
                int end = n == nodes - 1 ? rows.Length : start + (int)Math.Round(proportions[n] * rows.Length);
                end = Math.Min(end, rows.Length);
                shares[n].AddRange(rows[start..end]);
                start = end;
            }
        }
        return [.. shares.Select(s => s.ToArray())];
    }

    private static int[][] QuantitySkew(int count, int nodes, double alpha, Random random)
    {
        var order = Shuffled(count, random);
        var proportions = Dirichlet(alpha, nodes, random);
        var shares = new int[nodes][];
        int start = 0;
        for (int n = 0; n < nodes; n++)
        {
            int end = n == nodes - 1 ? count : Math.Min(count, start + (int)Math.Round(proportions[n] * count));
            shares[n] = order[start..end];
            start = end;
        }
        return shares;
    }

    private static int[][] Retry(Func<int[][]> split, string specification)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            var shares = split();
            if (shares.All(s => s.Length >= MinimumPerNode))
            {
                return shares;
            }
        }
        throw new SwarmException($"partition '{specification}' keeps leaving a node with fewer than {MinimumPerNode} rows; use a larger alpha or fewer nodes");
    }

    private static double Alpha(string[] parts, string specification) =>
        parts.Length == 2 && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double alpha) && alpha > 0
            ? alpha
            : throw new SwarmException($"partition '{specification}' needs a positive alpha, e.g. {parts[0]}:0.5");

    private static int[] Shuffled(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        return order;
    }

    /// <summary>A draw from the symmetric Dirichlet(alpha) distribution over <paramref name="k"/> parts.</summary>
    internal static double[] Dirichlet(double alpha, int k, Random random)
    {
        var draws = Enumerable.Range(0, k).Select(_ => Gamma(alpha, random)).ToArray();
        double sum = draws.Sum();
        return [.. draws.Select(d => d / sum)];
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (2000), boosted for shapes below 1.</summary>
    private static double Gamma(double shape, Random random)
    {
        if (shape < 1)
        {
            return Gamma(shape + 1, random) * Math.Pow(random.NextDouble(), 1 / shape);
        }
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal(random);
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            double u = random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
