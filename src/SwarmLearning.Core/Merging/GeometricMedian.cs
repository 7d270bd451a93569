using SwarmLearning.Core.Model;
using System.Globalization;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Weighted geometric median of the models (as vectors over all float tensors) by Weiszfeld's iteration, started from
/// the weighted mean; stops when a step moves less than <see cref="Tolerance"/>, when the objective stalls or rises
/// (oscillation), or after <see cref="MaxIterations"/>. Robust to a minority of arbitrary models.
/// </summary>
public sealed class GeometricMedian(double tolerance = 1e-6, int maxIterations = 100) : IMergeMethod
{
    /// <summary>The step length below which the iteration stops.</summary>
    public double Tolerance { get; } = tolerance;

    /// <summary>The most iterations made.</summary>
    public int MaxIterations { get; } = maxIterations;

    /// <inheritdoc />
    public string Name => "geomedian";

    /// <inheritdoc />
    public MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null)
    {
        var inputs = MergeInputs.Validate(contributions, checkFinite: true);
        var floatIndices = WholeModelMerge.FloatIndices(inputs.Signature);
        var vectors = WholeModelMerge.FloatVectors(inputs, floatIndices);
        int n = inputs.Count;

        var current = WholeModelMerge.Allocate(vectors[0]);
        WholeModelMerge.WeightedSum(vectors, [.. Enumerable.Range(0, n).Select(i => (i, inputs.Weights[i]))], current);
        var next = WholeModelMerge.Allocate(vectors[0]);
        double bestObjective = double.PositiveInfinity;
        string stop = $"reached {MaxIterations} iterations";
        int iteration = 0;
        var distances = new double[n];
        for (; iteration < MaxIterations; iteration++)
        {
            Parallel.For(0, n, i => distances[i] = Math.Sqrt(WholeModelMerge.SquaredDistance(vectors[i], current)));
            double objective = 0;
            for (int i = 0; i < n; i++)
            {
                objective += inputs.Weights[i] * distances[i];
            }
            if (objective >= bestObjective)
            {
                stop = objective > bestObjective ? "objective rose (oscillation); kept the best point" : "objective stalled";
                (current, next) = (next, current); // back to the best point, computed one step earlier
                break;
            }
            if (double.IsFinite(bestObjective) && bestObjective - objective <= 1e-12 * bestObjective)
            {
                stop = "objective stalled";
                break;
            }
            bestObjective = objective;

            // A model sitting at the current point would get infinite weight: floor its distance.
            const double floor = 1e-12;
            var terms = Enumerable.Range(0, n).Select(i => (i, inputs.Weights[i] / Math.Max(distances[i], floor))).ToList();
            double sum = Reproducible.Sum(terms.Select(t => t.Item2));
            WholeModelMerge.WeightedSum(vectors, [.. terms.Select(t => (t.i, t.Item2 / sum))], next);
            double step = Math.Sqrt(Step(current, next));
            (current, next) = (next, current);
            if (step < Tolerance)
            {
                stop = $"step {step.ToString("g2", CultureInfo.InvariantCulture)} below {Tolerance.ToString("g2", CultureInfo.InvariantCulture)}";
                iteration++;
                break;
            }
        }
        var merged = WholeModelMerge.Assemble(inputs, floatIndices, current);
        return new MergeResult(merged, $"geomedian of {n} models: {iteration} Weiszfeld iterations, stopped: {stop}");
    }

    private static double Step(byte[][] a, byte[][] b) => Reproducible.SquaredDistance(a, b);
}
