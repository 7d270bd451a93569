using System.Runtime.InteropServices;
using SwarmLearning.Core.Model;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Helpers for methods that see each model as one vector over all its float tensors (geometric median, Krum).
/// Integer tensors still take the element-wise weighted lower median.
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
    public static double SquaredDistance(byte[][] a, float[][] b)
    {
        double sum = 0;
        for (int t = 0; t < a.Length; t++)
        {
            double d = TensorPrimitives.Distance(Floats(a[t]), b[t]);
            sum += d * d;
        }
        return sum;
    }

    public static double SquaredDistance(byte[][] a, byte[][] b)
    {
        double sum = 0;
        for (int t = 0; t < a.Length; t++)
        {
            double d = TensorPrimitives.Distance(Floats(a[t]), Floats(b[t]));
            sum += d * d;
        }
        return sum;
    }

    /// <summary>Writes the weighted sum of the selected inputs into <paramref name="result"/> (weights already normalised).</summary>
    public static void WeightedSum(byte[][][] vectors, IReadOnlyList<(int Index, double Weight)> terms, float[][] result)
    {
        Parallel.For(0, result.Length, t =>
        {
            var output = result[t].AsSpan();
            output.Clear();
            foreach (var (index, weight) in terms)
            {
                TensorPrimitives.MultiplyAdd(Floats(vectors[index][t]), (float)weight, output, output);
            }
        });
    }

    /// <summary>Assembles the merged model from float results and the integer medians.</summary>
    public static ModelState Assemble(MergeInputs inputs, int[] floatIndices, float[][] floats)
    {
        var tensors = new List<Tensor>();
        for (int t = 0, f = 0; t < inputs.Signature.Tensors.Count; t++)
        {
            var spec = inputs.Signature.Tensors[t];
            tensors.Add(spec.DType.IsFloat()
                ? FloatConversion.FromFloat32(spec.Name, spec.DType, spec.Shape, floats[f++])
                : IntegerMedian.Merge(inputs, t));
        }
        return new ModelState(tensors, inputs.Contributions[0].Model.Metadata);
    }

    public static float[][] Allocate(byte[][] shapeOf) => [.. shapeOf.Select(b => new float[b.Length / 4])];
}
