using System.Runtime.InteropServices;

namespace SwarmLearning.Core.Model;

/// <summary>One named tensor: dtype, shape and its raw little-endian bytes, owned by this instance.</summary>
public sealed class Tensor
{
    /// <summary>Creates a tensor over <paramref name="data"/> (not copied), checking that the byte count fits the shape.</summary>
    public Tensor(string name, DType dtype, IReadOnlyList<long> shape, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long expected = ByteCount(dtype, shape);
        if (expected != data.LongLength)
        {
            throw new ArgumentException(
                $"tensor '{name}': shape [{string.Join(',', shape)}] of {dtype} needs {expected} bytes but {data.LongLength} were given");
        }
        Name = name;
        DType = dtype;
        Shape = [.. shape];
        Data = data;
    }

    /// <summary>The tensor's name, unique within a model (e.g. "fc1.weight").</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The dimensions; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The raw little-endian element bytes.</summary>
    public byte[] Data { get; }

    /// <summary>The number of elements (the product of the shape).</summary>
    public long ElementCount => Data.LongLength / DType.SizeOf();

    /// <summary>Describes this tensor without its data.</summary>
    public TensorSpec Spec => new(Name, DType, Shape);

    /// <summary>Views the data as elements of <typeparamref name="T"/>; the caller picks the type matching <see cref="DType"/>.</summary>
    public Span<T> AsSpan<T>() where T : struct => MemoryMarshal.Cast<byte, T>(Data.AsSpan());

    /// <summary>Creates a float32 tensor from values.</summary>
    public static Tensor FromFloats(string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values) =>
        new(name, DType.F32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Creates an int64 tensor from values.</summary>
    public static Tensor FromInt64(string name, IReadOnlyList<long> shape, ReadOnlySpan<long> values) =>
        new(name, DType.I64, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Returns the byte count a tensor of this dtype and shape has, or throws if the shape is invalid or too large.</summary>
    public static long ByteCount(DType dtype, IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"shape [{string.Join(',', shape)}] has a negative dimension");
            }
            count = checked(count * dim);
        }
        return checked(count * dtype.SizeOf());
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {DType}[{string.Join(',', Shape)}]";
}
