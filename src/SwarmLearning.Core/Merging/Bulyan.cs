using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Bulyan (El Mhamdi et al., 2018): picks θ = n − 2f models by Krum repeatedly (each time the best-scored one among
/// those left), then sets each coordinate to the mean of the β = θ − 2f values of the picked models closest to their
/// median. Krum alone lets an attacker move a coordinate far while staying close in the whole-model distance; the second
/// stage bounds every coordinate too. Needs n ≥ 4f + 3. Weights are not used: every picked model counts the same.
/// </summary>
public sealed class Bulyan : IRobustMerge
{
    /// <summary>Creates the method for at most <paramref name="byzantine"/> arbitrary models.</summary>
    public Bulyan(int byzantine = 1)
    {
        if (byzantine < 1)
        {
            throw new MergeException($"bulyan needs f >= 1 (got f={byzantine}); with no bad models to tolerate use mean");
        }
        Byzantine = byzantine;
    }

    /// <summary>f: the number of arbitrary models tolerated.</summary>
    public int Byzantine { get; }

    /// <inheritdoc />
    public string Name => $"bulyan:f={Byzantine}";

    /// <inheritdoc />
    public int MinimumModels => 4 * Byzantine + 3;

    /// <inheritdoc />
    public string Assumption => $"at most f={Byzantine} bad models of n >= 4f+3 = {MinimumModels}";

    /// <inheritdoc />
    public MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null)
    {
        var inputs = MergeInputs.Validate(contributions, checkFinite: true);
        int n = inputs.Count;
        if (n < MinimumModels)
        {
            throw new MergeException($"bulyan with f={Byzantine} needs at least {MinimumModels} models (4f+3) but {n} were given; lower f or raise minPeers");
        }
        var floatIndices = WholeModelMerge.FloatIndices(inputs.Signature);
        var vectors = WholeModelMerge.FloatVectors(inputs, floatIndices);
        var picked = PickByKrum(vectors, n - 2 * Byzantine);
        int keep = picked.Count - 2 * Byzantine;
        var result = WholeModelMerge.Allocate(vectors[0]);
        Parallel.For(0, result.Length, t =>
        {
            var columns = picked.Select(i => WholeModelMerge.Floats(vectors[i][t]).ToArray()).ToArray();
            var output = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(result[t].AsSpan());
            var values = new float[columns.Length];
            for (int e = 0; e < output.Length; e++)
            {
                for (int i = 0; i < columns.Length; i++)
                {
                    values[i] = columns[i][e];
                }
                output[e] = MeanClosestToMedian(values, keep);
            }
        });
        var merged = WholeModelMerge.Assemble(inputs, floatIndices, result);
        string names = string.Join(", ", picked.Order().Select(i => inputs.Contributions[i].NodeId));
        return new MergeResult(merged, $"{Name} of {n} models: picked {names}, each coordinate the mean of the {keep} closest to its median");
    }

    /// <summary>Krum applied <paramref name="count"/> times, each time to the models not picked yet (n − f − 2 neighbours of those left).</summary>
    private List<int> PickByKrum(byte[][][] vectors, int count)
    {
        int n = vectors.Length;
        var distances = new double[n, n];
        var pairs = (from i in Enumerable.Range(0, n) from j in Enumerable.Range(i + 1, n - i - 1) select (i, j)).ToArray();
        Parallel.ForEach(pairs, p => distances[p.i, p.j] = distances[p.j, p.i] = WholeModelMerge.SquaredDistance(vectors[p.i], vectors[p.j]));
        var left = Enumerable.Range(0, n).ToList();
        var picked = new List<int>(count);
        while (picked.Count < count)
        {
            int neighbours = Math.Max(1, left.Count - Byzantine - 2);
            // Ties go to the smaller node id (inputs are in node-id order), so the choice never depends on arrival order.
            int best = left.OrderBy(i => Reproducible.Sum(left.Where(j => j != i).Select(j => distances[i, j]).Order().Take(neighbours))).ThenBy(i => i).First();
            picked.Add(best);
            left.Remove(best);
        }
        return picked;
    }

    /// <summary>The mean of the <paramref name="keep"/> values closest to the median (sorts <paramref name="values"/>).</summary>
    internal static float MeanClosestToMedian(float[] values, int keep)
    {
        Array.Sort(values);
        int n = values.Length;
        double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + (double)values[n / 2]) / 2;
        // The values closest to the median form a window of the sorted column: grow it from the middle.
        int low = n / 2, high = low; // [low, high) taken
        while (high - low < keep)
        {
            bool takeLow = low > 0 && (high >= n || median - values[low - 1] <= values[high] - median);
            if (takeLow)
            {
                low--;
            }
            else
            {
                high++;
            }
        }
        double sum = 0;
        for (int i = low; i < high; i++)
        {
            sum += values[i];
        }
        return (float)(sum / keep);
    }
}
