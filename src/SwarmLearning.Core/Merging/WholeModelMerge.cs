using System.Runtime.InteropServices;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Helpers for methods that see each model as one vector over all its float tensors (geometric median, Krum, Bulyan,
/// centred clipping): every vector is a list of tensors as float32 bytes. Integer tensors still take the element-wise
/// weighted lower median. Distances and sums use <see cref="Reproducible"/>, so results are the same bits everywhere.
/// </summary>
internal static class WholeModelMerge
{
    /// <summary>Float tensors of each input as float32 bytes: [input][floatTensor].</summary>
    public static byte[][][] FloatVectors(MergeInputs inputs, int[] floatIndices) =>
        [.. inputs.Contributions.Select(c => floatIndices.Select(t => FloatConversion.ToFloat32Bytes(c.Model.Tensors[t])).ToArray())];

    public static int[] FloatIndices(ModelSignature signature) =>
        [.. Enumerable.Range(0, signature.Tensors.Count).Where(t => signature.Tensors[t].DType.IsFloat())];

    public static ReadOnlySpan<float> Floats(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes.AsSpan());

    /// <summary>The squared Euclidean distance between two models' float vectors, accumulated in double.</summary>
    public static double SquaredDistance(byte[][] a, byte[][] b) => Reproducible.SquaredDistance(a, b);

    /// <summary>Writes the weighted sum of the selected inputs into <paramref name="result"/> (weights already normalised).</summary>
    public static void WeightedSum(byte[][][] vectors, IReadOnlyList<(int Index, double Weight)> terms, byte[][] result)
    {
        double[] weights = [.. terms.Select(t => t.Weight)];
        for (int t = 0; t < result.Length; t++)
        {
            int tensor = t;
            Reproducible.WeightedSum([.. terms.Select(term => vectors[term.Index][tensor])], weights, result[t]);
        }
    }

    /// <summary>Assembles the merged model from float results and the integer medians.</summary>
    public static ModelState Assemble(MergeInputs inputs, int[] floatIndices, byte[][] floats)
    {
        var tensors = new List<Tensor>();
        for (int t = 0, f = 0; t < inputs.Signature.Tensors.Count; t++)
        {
            var spec = inputs.Signature.Tensors[t];
            tensors.Add(spec.DType.IsFloat()
                ? FloatConversion.FromFloat32Bytes(spec.Name, spec.DType, spec.Shape, floats[f++])
                : IntegerMedian.Merge(inputs, t));
        }
        return new ModelState(tensors, inputs.Contributions[0].Model.Metadata);
    }

    /// <summary>Fresh float32 buffers shaped like <paramref name="shapeOf"/>.</summary>
    public static byte[][] Allocate(byte[][] shapeOf) => [.. shapeOf.Select(b => new byte[b.Length])];
}
