using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>Converts floating-point tensor data to and from float32, the type every merge computes in.</summary>
internal static class FloatConversion
{
    /// <summary>Returns the tensor's data as float32 bytes: the same array for F32, a converted copy for F16/BF16.</summary>
    public static byte[] ToFloat32Bytes(Tensor tensor)
    {
        switch (tensor.DType)
        {
            case DType.F32:
                return tensor.Data;
            case DType.F16:
            {
                var result = new byte[tensor.ElementCount * 4];
                TensorPrimitives.ConvertToSingle(tensor.AsSpan<Half>(), MemoryMarshal.Cast<byte, float>(result.AsSpan()));
                return result;
            }
            case DType.BF16:
            {
                var result = new byte[tensor.ElementCount * 4];
                var source = tensor.AsSpan<ushort>();
                var target = MemoryMarshal.Cast<byte, uint>(result.AsSpan());
                for (int i = 0; i < source.Length; i++)
                {
                    target[i] = (uint)source[i] << 16;
                }
                return result;
            }
            default:
                throw new ArgumentException($"tensor '{tensor.Name}' of {tensor.DType} is not a merge float type");
        }
    }

    /// <summary>Builds a tensor of <paramref name="dtype"/> from float32 values (round to nearest even for BF16).</summary>
    public static Tensor FromFloat32(string name, DType dtype, IReadOnlyList<long> shape, float[] values) =>
        dtype == DType.F32
            ? new Tensor(name, dtype, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray())
            : FromFloat32Bytes(name, dtype, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>Builds a tensor from float32 bytes, taking the array itself (no copy) when the dtype is F32.</summary>
    public static Tensor FromFloat32Bytes(string name, DType dtype, IReadOnlyList<long> shape, byte[] float32Bytes)
    {
        var floats = MemoryMarshal.Cast<byte, float>(float32Bytes.AsSpan());
        int count = floats.Length;
        switch (dtype)
        {
            case DType.F32:
                return new Tensor(name, dtype, shape, float32Bytes);
            case DType.F16:
            {
                var data = new byte[count * 2];
                TensorPrimitives.ConvertToHalf(floats, MemoryMarshal.Cast<byte, Half>(data.AsSpan()));
                return new Tensor(name, dtype, shape, data);
            }
            case DType.BF16:
            {
                var data = new byte[count * 2];
                var target = MemoryMarshal.Cast<byte, ushort>(data.AsSpan());
                for (int i = 0; i < count; i++)
                {
                    target[i] = ToBFloat16(floats[i]);
                }
                return new Tensor(name, dtype, shape, data);
            }
            default:
                throw new ArgumentException($"{dtype} is not a merge float type");
        }
    }

    private static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
