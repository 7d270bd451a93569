using SwarmLearning.Core.Model;
namespace SwarmLearning.Core.Merging;

/// <summary>
/// (Multi-)Krum (Blanchard et al., 2017): scores each model by the sum of squared distances to its n - f - 2 nearest
/// neighbours, keeps the <see cref="Selected"/> best-scored models and returns their weighted mean. Tolerates up to
/// <see cref="Byzantine"/> arbitrary models when n >= 2f + 3.
/// </summary>
public sealed class Krum : IRobustMerge
{
    /// <summary>Creates the method for at most <paramref name="byzantine"/> bad models, keeping <paramref name="selected"/> models.</summary>
    public Krum(int byzantine = 1, int selected = 1)
    {
        if (byzantine < 0 || selected < 1)
        {
            throw new MergeException($"krum needs f >= 0 and m >= 1 (got f={byzantine}, m={selected})");
        }
        Byzantine = byzantine;
        Selected = selected;
    }

    /// <summary>f: the number of arbitrary (Byzantine) models tolerated.</summary>
    public int Byzantine { get; }

    /// <summary>m: how many best-scored models are averaged (1 is Krum, more is multi-Krum).</summary>
    public int Selected { get; }

    /// <inheritdoc />
    public string Name => $"krum:f={Byzantine},m={Selected}";

    /// <inheritdoc />
    public int MinimumModels => Math.Max(2 * Byzantine + 3, Selected + Byzantine);

    /// <inheritdoc />
    public string Assumption => $"at most f={Byzantine} bad models of n >= 2f+3 = {2 * Byzantine + 3}";

    /// <inheritdoc />
    public MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null)
    {
        var inputs = MergeInputs.Validate(contributions, checkFinite: true);
        int n = inputs.Count;
        if (n < 2 * Byzantine + 3)
        {
            throw new MergeException($"krum with f={Byzantine} needs at least {2 * Byzantine + 3} models (2f+3) but {n} were given; lower f or wait for more peers (min_peers)");
        }
        if (Selected > n - Byzantine)
        {
            throw new MergeException($"multi-krum cannot keep m={Selected} of {n} models when f={Byzantine} may be bad (m <= n - f)");
        }
        var floatIndices = WholeModelMerge.FloatIndices(inputs.Signature);
        var vectors = WholeModelMerge.FloatVectors(inputs, floatIndices);
        var distances = new double[n, n];
        var pairs = (from i in Enumerable.Range(0, n) from j in Enumerable.Range(i + 1, n - i - 1) select (i, j)).ToArray();
        Parallel.ForEach(pairs, p => distances[p.i, p.j] = distances[p.j, p.i] = WholeModelMerge.SquaredDistance(vectors[p.i], vectors[p.j]));

        int neighbours = n - Byzantine - 2;
        var scores = Enumerable.Range(0, n)
            .Select(i => Reproducible.Sum(Enumerable.Range(0, n).Where(j => j != i).Select(j => distances[i, j]).Order().Take(neighbours)))
            .ToArray();
        // Ties go to the smaller node id (inputs are in node-id order), so the choice never depends on arrival order.
        var chosen = Enumerable.Range(0, n).OrderBy(i => scores[i]).ThenBy(i => i).Take(Selected).Order().ToList();
        double total = Reproducible.Sum(chosen.Select(i => inputs.Weights[i]));
        var result = WholeModelMerge.Allocate(vectors[0]);
        WholeModelMerge.WeightedSum(vectors, [.. chosen.Select(i => (i, inputs.Weights[i] / total))], result);
        var merged = WholeModelMerge.Assemble(inputs, floatIndices, result);
        string names = string.Join(", ", chosen.Select(i => inputs.Contributions[i].NodeId));
        return new MergeResult(merged, $"{Name} of {n} models: kept {names}");
    }
}
