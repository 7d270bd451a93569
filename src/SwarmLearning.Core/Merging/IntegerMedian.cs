using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// Merges integer and bool tensors element-wise by weighted lower median: the result is always a value some node
/// holds, so counters stay whole and flags stay flags; identical inputs return themselves.
/// </summary>
internal static class IntegerMedian
{
    public static Tensor Merge(MergeInputs inputs, int index)
    {
        var first = inputs.Contributions[0].Model.Tensors[index];
        long count = first.ElementCount;
        var output = new byte[first.Data.Length];
        var values = new long[inputs.Count];
        var weights = new double[inputs.Count];
        for (long e = 0; e < count; e++)
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                values[i] = Read(inputs.Contributions[i].Model.Tensors[index], e);
                weights[i] = inputs.Weights[i];
            }
            Array.Sort(values, weights);
            double half = 0.5, cumulative = 0;
            long chosen = values[^1];
            for (int i = 0; i < values.Length; i++)
            {
                cumulative += weights[i];
                if (cumulative >= half - 1e-12)
                {
                    chosen = values[i];
                    break;
                }
            }
            Write(first.DType, output, e, chosen);
        }
        return new Tensor(first.Name, first.DType, first.Shape, output);
    }

    private static long Read(Tensor tensor, long e) => tensor.DType switch
    {
        DType.I64 => tensor.AsSpan<long>()[(int)e],
        DType.I32 => tensor.AsSpan<int>()[(int)e],
        DType.I16 => tensor.AsSpan<short>()[(int)e],
        DType.I8 => (sbyte)tensor.Data[e],
        _ => tensor.Data[e],
    };

    private static void Write(DType dtype, byte[] data, long e, long value)
    {
        switch (dtype)
        {
            case DType.I64: BitConverter.TryWriteBytes(data.AsSpan((int)e * 8), value); break;
            case DType.I32: BitConverter.TryWriteBytes(data.AsSpan((int)e * 4), (int)value); break;
            case DType.I16: BitConverter.TryWriteBytes(data.AsSpan((int)e * 2), (short)value); break;
            default: data[e] = (byte)value; break;
        }
    }
}
