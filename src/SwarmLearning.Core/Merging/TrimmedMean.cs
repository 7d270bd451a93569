namespace SwarmLearning.Core.Merging;

/// <summary>
/// Per coordinate, drops the k = floor(fraction x n) lowest and k highest values and takes the weighted mean of the
/// rest: ignores up to k outliers on each side.
/// </summary>
public sealed class TrimmedMean : ElementwiseMerge
{
    /// <summary>Creates the method; <paramref name="fraction"/> is the share trimmed at each end, in [0, 0.5).</summary>
    public TrimmedMean(double fraction = 0.2)
    {
        if (!(fraction >= 0 && fraction < 0.5))
        {
            throw new MergeException($"trimmed mean fraction {fraction} is out of range: it must be at least 0 and below 0.5");
        }
        Fraction = fraction;
    }

    /// <summary>The share of values trimmed at each end.</summary>
    public double Fraction { get; }

    /// <inheritdoc />
    public override string Name => $"trimmedmean:{Fraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <inheritdoc />
    protected override bool CheckInputsFinite => true;

    /// <summary>The number of values trimmed at each end for <paramref name="n"/> inputs.</summary>
    public int TrimCount(int n) => (int)Math.Floor(Fraction * n);

    /// <inheritdoc />
    protected override void MergeChunk(ChunkInputs inputs, double[] weights, Span<float> output)
    {
        int n = inputs.Count;
        int k = TrimCount(n);
        Span<float> values = n <= 128 ? stackalloc float[n] : new float[n];
        Span<double> w = n <= 128 ? stackalloc double[n] : new double[n];
        for (int e = 0; e < output.Length; e++)
        {
            WeightedMedian.SortedColumn(inputs, e, weights, values, w);
            double sum = 0, total = 0;
            for (int i = k; i < n - k; i++)
            {
                sum += values[i] * w[i];
                total += w[i];
            }
            output[e] = (float)(sum / total);
        }
    }
}
