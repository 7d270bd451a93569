using System.Buffers;

namespace SwarmLearning.Core.Merging;

/// <summary>Weighted mean of each coordinate: HPE's default merge and FedAvg's rule.</summary>
public sealed class WeightedMean : ElementwiseMerge
{
    /// <inheritdoc />
    public override string Name => "mean";

    // NaN or infinity in any input makes the output non-finite (finite inputs cannot overflow a double sum), so checking
    // the output is enough and costs one pass.
    /// <inheritdoc />
    protected override bool CheckInputsFinite => false;

    /// <inheritdoc />
    protected override void MergeChunk(ChunkInputs inputs, double[] weights, Span<float> output)
    {
        // In double, one rounding at the end: the same bits on every host, and no finite inputs can overflow.
        var scratch = ArrayPool<double>.Shared.Rent(output.Length);
        try
        {
            var sum = scratch.AsSpan(0, output.Length);
            sum.Clear();
            for (int i = 0; i < inputs.Count; i++)
            {
                Reproducible.AddScaled(inputs[i], weights[i], sum);
            }
            Reproducible.Narrow(sum, output);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
        }
    }
}
