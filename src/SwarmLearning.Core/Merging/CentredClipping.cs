using System.Globalization;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Centred clipping (Karimireddy, He and Jaggi, 2021): starting from the last merged model v, repeats
/// <c>v ← v + (1/n) Σ (xᵢ − v) · min(1, τ / ‖xᵢ − v‖)</c>, so that no model moves the result by more than τ / n per
/// step, however far it lies. Models count the same whatever their declared weight (an attacker could inflate its own).
/// τ is the clipping radius; by default (<see cref="Radius"/> null) it is the median distance from the centre of the
/// models that moved, so honest updates pass nearly whole and a minority of far models is cut to the honest scale. Its
/// guarantee needs fewer than half the models bad and an honest centre; the round engine
/// supplies the last merged model (<see cref="MergeAround"/>), and without one the coordinate median is the centre.
/// </summary>
public sealed class CentredClipping : IRobustMerge
{
    /// <summary>Creates the method with radius <paramref name="radius"/> (null: the median distance) and <paramref name="iterations"/> steps.</summary>
    public CentredClipping(double? radius = null, int iterations = 3)
    {
        if (radius is { } r && !(r > 0 && double.IsFinite(r)))
        {
            throw new MergeException($"centredclip needs a positive radius tau (got {r})");
        }
        if (iterations is < 1 or > 100)
        {
            throw new MergeException($"centredclip needs 1 to 100 iterations (got {iterations})");
        }
        Radius = radius;
        Iterations = iterations;
    }

    /// <summary>τ, or null for the median distance from the centre.</summary>
    public double? Radius { get; }

    /// <summary>L: clipping steps.</summary>
    public int Iterations { get; }

    /// <inheritdoc />
    public string Name => Radius is { } r ? FormattableString.Invariant($"centredclip:tau={r},l={Iterations}") : $"centredclip:l={Iterations}";

    /// <inheritdoc />
    public int MinimumModels => 3;

    /// <inheritdoc />
    public string Assumption => "fewer than half the models are bad, and the last merged model is honest";

    /// <inheritdoc />
    public MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null) =>
        MergeAround(contributions, new CoordinateMedian().Merge(contributions).Model, "the coordinate median");

    /// <summary>Merges clipping every model around <paramref name="centre"/> (the last merged model).</summary>
    public MergeResult MergeAround(IReadOnlyList<Contribution> contributions, ModelState centre, string centreName = "the last merged model")
    {
        ArgumentNullException.ThrowIfNull(centre);
        var inputs = MergeInputs.Validate(contributions, checkFinite: true);
        if (inputs.Signature.DescribeDifference(centre.Signature) is { } difference)
        {
            throw new MergeException($"centredclip: the centre model differs from the contributions: {difference}");
        }
        var floatIndices = WholeModelMerge.FloatIndices(inputs.Signature);
        var vectors = WholeModelMerge.FloatVectors(inputs, floatIndices);
        var v = floatIndices.Select(t => (byte[])FloatConversion.ToFloat32Bytes(centre.Tensors[t]).Clone()).ToArray();
        int n = inputs.Count;
        var distances = new double[n];
        double tau = 0;
        int clipped = 0;
        for (int step = 0; step < Iterations; step++)
        {
            Parallel.For(0, n, i => distances[i] = Math.Sqrt(WholeModelMerge.SquaredDistance(vectors[i], v)));
            if (step == 0)
            {
                // Models sitting on the centre (a finished node checking in the merged model) say nothing about the honest scale.
                var moved = distances.Where(d => d > 0).ToArray();
                tau = Radius ?? (moved.Length == 0 ? 0 : Median(moved));
                clipped = distances.Count(d => d > tau);
            }
            if (tau <= 0)
            {
                break; // every model sits on the centre (or most do): nothing moves
            }
            // Every model counts the same: weights come from what nodes declare (sample counts), which an attacker can inflate.
            var scales = Enumerable.Range(0, n).Select(i => Math.Min(1, tau / Math.Max(distances[i], 1e-30)) / n).ToArray();
            double kept = Reproducible.Sum(scales);
            double[] weights = [1 - kept, .. scales];
            for (int t = 0; t < v.Length; t++)
            {
                // v + Σ sᵢ (xᵢ − v) = (1 − Σ sᵢ) v + Σ sᵢ xᵢ, in place (each chunk of v is read before it is written)
                Reproducible.WeightedSum([v[t], .. vectors.Select(x => x[t])], weights, v[t]);
            }
        }
        var merged = WholeModelMerge.Assemble(inputs, floatIndices, v);
        return new MergeResult(merged, string.Create(CultureInfo.InvariantCulture,
            $"{Name} of {n} models around {centreName}: tau {tau:g3}, {clipped} clipped at the first step"));
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
