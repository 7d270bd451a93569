namespace SwarmLearning.Cli.Demo;

/// <summary>A labelled data set: rows of features and their class.</summary>
internal sealed record DataSet(float[][] Features, int[] Labels)
{
    public int Count => Labels.Length;
}

/// <summary>
/// Seeded synthetic classification data (Gaussian blobs, one per class, with overlap) and a label-skewed split:
/// each node sees mostly a few classes, the situation where a node alone does badly and a swarm helps.
/// </summary>
internal static class SyntheticData
{
    public const int Classes = 10;
    public const int Features = 20;

    public static (DataSet Train, DataSet Test) Make(int seed, int trainCount, int testCount)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, Classes).Select(_ => Enumerable.Range(0, Features).Select(_ => Gaussian(random) * 0.7f).ToArray()).ToArray();
        DataSet Sample(int count)
        {
            var features = new float[count][];
            var labels = new int[count];
            for (int i = 0; i < count; i++)
            {
                labels[i] = random.Next(Classes);
                features[i] = [.. centres[labels[i]].Select(c => c + Gaussian(random))];
            }
            return new DataSet(features, labels);
        }
        return (Sample(trainCount), Sample(testCount));
    }

    /// <summary>Splits by label skew: node i draws most of its rows from its own few classes.</summary>
    public static DataSet[] SplitBySkew(DataSet data, int nodes, int seed, double ownShare = 0.9)
    {
        var random = new Random(seed);
        var parts = Enumerable.Range(0, nodes).Select(_ => new List<int>()).ToArray();
        for (int row = 0; row < data.Count; row++)
        {
            int owner = data.Labels[row] % nodes;
            int node = random.NextDouble() < ownShare ? owner : random.Next(nodes);
            parts[node].Add(row);
        }
        return [.. parts.Select(rows => new DataSet([.. rows.Select(r => data.Features[r])], [.. rows.Select(r => data.Labels[r])]))];
    }

    private static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
