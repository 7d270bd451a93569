namespace SwarmLearning.Core.Merging;

/// <summary>Weighted median of each coordinate: ignores a minority (by weight) of arbitrary outliers.</summary>
public sealed class CoordinateMedian : ElementwiseMerge
{
    /// <inheritdoc />
    public override string Name => "coordmedian";

    /// <inheritdoc />
    protected override bool CheckInputsFinite => true;

    /// <inheritdoc />
    protected override void MergeChunk(ChunkInputs inputs, double[] weights, Span<float> output)
    {
        int n = inputs.Count;
        Span<float> values = n <= 128 ? stackalloc float[n] : new float[n];
        Span<double> w = n <= 128 ? stackalloc double[n] : new double[n];
        for (int e = 0; e < output.Length; e++)
        {
            WeightedMedian.SortedColumn(inputs, e, weights, values, w);
            output[e] = WeightedMedian.OfSorted(values, w);
        }
    }
}
