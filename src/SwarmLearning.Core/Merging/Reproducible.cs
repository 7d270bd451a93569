using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Numeric kernels that give the same bits on every host, whatever its vector width, core count or hardware intrinsics:
/// a merge is recomputed by auditors on other machines and compared by hash (docs/verification.md, "Recomputable merges").
/// <list type="bullet">
/// <item>Element-wise work is done in double, one IEEE operation at a time, never fused: <c>acc + x·w</c> rounds the
/// product, then the sum, in scalar and vector code alike. Accumulating in double also means no finite float inputs
/// can overflow a weighted mean (its result lies between the inputs).</item>
/// <item>A sum over coordinates (a squared distance) keeps eight lanes, coordinate i in lane i mod 8, inside fixed
/// chunks of <see cref="ChunkElements"/>, and combines lanes and chunks in one fixed order.</item>
/// </list>
/// The vectors are <see cref="Vector256"/> whatever the CPU offers: without AVX (or with hardware intrinsics switched
/// off) the runtime computes them lane by lane with the same IEEE operations, so results do not change, only speed.
/// </summary>
public static class Reproducible
{
    /// <summary>Coordinates per chunk: work is split (and run in parallel) only at these fixed boundaries.</summary>
    public const int ChunkElements = 1 << 15;

    /// <summary>The sum of <paramref name="values"/> in their order (never reordered or vectorized).</summary>
    public static double Sum(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double sum = 0;
        foreach (double value in values)
        {
            sum += value;
        }
        return sum;
    }

    /// <summary><c>accumulator[i] += x[i] · weight</c> in double.</summary>
    public static void AddScaled(ReadOnlySpan<float> x, double weight, Span<double> accumulator)
    {
        CheckLengths(x.Length, accumulator.Length);
        ref float source = ref MemoryMarshal.GetReference(x);
        ref double target = ref MemoryMarshal.GetReference(accumulator);
        var w = Vector256.Create(weight);
        int i = 0;
        for (; i <= x.Length - 8; i += 8)
        {
            var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref source, (nuint)i));
            var product = low * w; // a separate rounding: never a fused multiply-add
            (Vector256.LoadUnsafe(ref target, (nuint)i) + product).StoreUnsafe(ref target, (nuint)i);
            product = high * w;
            (Vector256.LoadUnsafe(ref target, (nuint)(i + 4)) + product).StoreUnsafe(ref target, (nuint)(i + 4));
        }
        for (; i < x.Length; i++)
        {
            double product = x[i] * weight;
            accumulator[i] += product;
        }
    }

    /// <summary><c>output[i] = (float)accumulator[i]</c>, rounded to nearest.</summary>
    public static void Narrow(ReadOnlySpan<double> accumulator, Span<float> output)
    {
        CheckLengths(accumulator.Length, output.Length);
        ref double source = ref MemoryMarshal.GetReference(accumulator);
        ref float target = ref MemoryMarshal.GetReference(output);
        int i = 0;
        for (; i <= accumulator.Length - 8; i += 8)
        {
            Vector256.Narrow(Vector256.LoadUnsafe(ref source, (nuint)i), Vector256.LoadUnsafe(ref source, (nuint)(i + 4))).StoreUnsafe(ref target, (nuint)i);
        }
        for (; i < accumulator.Length; i++)
        {
            output[i] = (float)accumulator[i];
        }
    }

    /// <summary>
    /// Writes <c>Σ weights[k] · inputs[k]</c> into <paramref name="output"/> (all float32 bytes), accumulated in double in
    /// the order given and rounded once; chunks run in parallel (the result does not depend on how). <paramref name="output"/>
    /// may be one of the inputs: each chunk is read before it is written.
    /// </summary>
    public static void WeightedSum(IReadOnlyList<byte[]> inputs, IReadOnlyList<double> weights, byte[] output)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(output);
        if (inputs.Count != weights.Count)
        {
            throw new ArgumentException("one weight per input");
        }
        foreach (var input in inputs)
        {
            CheckLengths(input.Length, output.Length);
        }
        int length = output.Length / 4;
        int chunks = (length + ChunkElements - 1) / ChunkElements;
        Parallel.For(0, chunks, chunk =>
        {
            int start = chunk * ChunkElements;
            int count = Math.Min(ChunkElements, length - start);
            var scratch = ArrayPool<double>.Shared.Rent(count);
            try
            {
                var sum = scratch.AsSpan(0, count);
                sum.Clear();
                for (int k = 0; k < inputs.Count; k++)
                {
                    AddScaled(Floats(inputs[k]).Slice(start, count), weights[k], sum);
                }
                Narrow(sum, MemoryMarshal.Cast<byte, float>(output.AsSpan()).Slice(start, count));
            }
            finally
            {
                ArrayPool<double>.Shared.Return(scratch);
            }
        });
    }

    /// <summary>The squared Euclidean distance between two models' float vectors (tensors of float32 bytes, in order).</summary>
    public static double SquaredDistance(IReadOnlyList<byte[]> a, IReadOnlyList<byte[]> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        CheckLengths(a.Count, b.Count);
        double sum = 0;
        for (int t = 0; t < a.Count; t++)
        {
            sum += SquaredDistance(Floats(a[t]), Floats(b[t]));
        }
        return sum;
    }

    private static ReadOnlySpan<float> Floats(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes.AsSpan());

    /// <summary>The squared Euclidean distance <c>Σ (a[i] − b[i])²</c>, in double, the same bits everywhere.</summary>
    public static double SquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckLengths(a.Length, b.Length);
        double total = 0;
        for (int start = 0; start < a.Length; start += ChunkElements)
        {
            int count = Math.Min(ChunkElements, a.Length - start);
            total += ChunkSquaredDistance(a.Slice(start, count), b.Slice(start, count));
        }
        return total;
    }

    private static double ChunkSquaredDistance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        ref float left = ref MemoryMarshal.GetReference(a);
        ref float right = ref MemoryMarshal.GetReference(b);
        var lanesLow = Vector256<double>.Zero;
        var lanesHigh = Vector256<double>.Zero;
        int i = 0;
        for (; i <= a.Length - 8; i += 8)
        {
            var (al, ah) = Vector256.Widen(Vector256.LoadUnsafe(ref left, (nuint)i));
            var (bl, bh) = Vector256.Widen(Vector256.LoadUnsafe(ref right, (nuint)i));
            var dl = al - bl;
            var dh = ah - bh;
            var squareLow = dl * dl;
            var squareHigh = dh * dh;
            lanesLow += squareLow;
            lanesHigh += squareHigh;
        }
        var lanes = new Lanes();
        Span<double> lane = lanes;
        lanesLow.CopyTo(lane);
        lanesHigh.CopyTo(lane[4..]);
        for (int k = 0; i < a.Length; i++, k++)
        {
            double d = (double)a[i] - b[i];
            double square = d * d;
            lane[k] += square;
        }
        return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    }

    private static void CheckLengths(int a, int b)
    {
        if (a != b)
        {
            throw new ArgumentException($"the spans differ in length ({a} and {b})");
        }
    }

    [InlineArray(8)]
    private struct Lanes
    {
        private double _element;
    }
}
