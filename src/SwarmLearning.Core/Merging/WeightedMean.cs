using System.Numerics.Tensors;

namespace SwarmLearning.Core.Merging;

/// <summary>Weighted mean of each coordinate: HPE's default merge and FedAvg's rule.</summary>
public sealed class WeightedMean : ElementwiseMerge
{
    /// <inheritdoc />
    public override string Name => "mean";

    // NaN or infinity in any input makes the output non-finite, so checking the output is enough and costs one pass.
    /// <inheritdoc />
    protected override bool CheckInputsFinite => false;

    /// <inheritdoc />
    protected override void MergeChunk(ChunkInputs inputs, double[] weights, Span<float> output)
    {
        TensorPrimitives.Multiply(inputs[0], (float)weights[0], output);
        for (int i = 1; i < inputs.Count; i++)
        {
            TensorPrimitives.MultiplyAdd(inputs[i], (float)weights[i], output, output);
        }
    }
}
