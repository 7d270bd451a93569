using System.Runtime.InteropServices;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Base of merge methods that treat each coordinate on its own (mean, coordinate median, trimmed mean).
/// Coordinates are processed in chunks, in parallel; the result does not depend on the chunking.
/// Integer and bool tensors take the element-wise weighted lower median whatever the method (see docs/merging.md).
/// </summary>
public abstract class ElementwiseMerge : IMergeMethod
{
    private const int ChunkElements = 1 << 15;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>True when non-finite inputs must be refused before merging; false when the output check suffices.</summary>
    protected abstract bool CheckInputsFinite { get; }

    /// <inheritdoc />
    public MergeResult Merge(IReadOnlyList<Contribution> contributions, ModelState? reuse = null)
    {
        var inputs = MergeInputs.Validate(contributions, CheckInputsFinite);
        CheckCount(inputs.Count);
        var tensors = new List<Tensor>(inputs.Signature.Tensors.Count);
        for (int t = 0; t < inputs.Signature.Tensors.Count; t++)
        {
            var spec = inputs.Signature.Tensors[t];
            tensors.Add(spec.DType.IsFloat()
                ? MergeFloatTensor(inputs, t, spec, ReusableBuffer(reuse, spec))
                : IntegerMedian.Merge(inputs, t));
        }
        var merged = new ModelState(tensors, inputs.Contributions[0].Model.Metadata);
        return new MergeResult(merged, $"{Name} of {inputs.Count} models");
    }

    /// <summary>Checks that the method can work with this many inputs.</summary>
    protected virtual void CheckCount(int count) { }

    /// <summary>Merges one chunk of coordinates; <paramref name="inputs"/> hold the chunk of each input, in canonical order.</summary>
    protected abstract void MergeChunk(ChunkInputs inputs, double[] weights, Span<float> output);

    /// <summary>The reuse model's buffer for this tensor when it is float32 of the same shape, else null.</summary>
    internal static byte[]? ReusableBuffer(ModelState? reuse, TensorSpec spec) =>
        reuse is not null && reuse.TryGet(spec.Name, out var old) && old.DType == DType.F32 && spec.DType == DType.F32 && old.Shape.SequenceEqual(spec.Shape)
            ? old.Data
            : null;

    private Tensor MergeFloatTensor(MergeInputs inputs, int index, TensorSpec spec, byte[]? reuse)
    {
        var sources = inputs.Contributions.Select(c => FloatConversion.ToFloat32Bytes(c.Model.Tensors[index])).ToArray();
        int length = sources[0].Length / 4;
        // Every element is written by the first input's pass, so the buffer need not be zeroed.
        var output = reuse ?? GC.AllocateUninitializedArray<byte>(length * 4);
        int chunks = (length + ChunkElements - 1) / ChunkElements;
        Parallel.For(0, chunks, chunk =>
        {
            int start = chunk * ChunkElements;
            int count = Math.Min(ChunkElements, length - start);
            MergeChunk(new ChunkInputs(sources, start, count), inputs.Weights, MemoryMarshal.Cast<byte, float>(output.AsSpan(start * 4, count * 4)));
        });
        if (!CheckInputsFinite && !System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(MemoryMarshal.Cast<byte, float>(output.AsSpan())))
        {
            // Only now pay for a scan of the inputs, to name the culprit.
            foreach (var c in inputs.Contributions)
            {
                MergeInputs.RequireFinite(c);
            }
            throw new MergeException($"the {Name} of tensor '{spec.Name}' overflowed float32 although every input is finite");
        }
        return FloatConversion.FromFloat32Bytes(spec.Name, spec.DType, spec.Shape, output);
    }
}
