namespace SwarmLearning.Core.Model;

/// <summary>Element types of a tensor, named as in the safetensors format.</summary>
public enum DType
{
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16.</summary>
    F16,
    /// <summary>bfloat16: the upper half of a binary32.</summary>
    BF16,
    /// <summary>IEEE 754 binary64.</summary>
    F64,
    /// <summary>Signed 64-bit integer (e.g. BatchNorm's num_batches_tracked).</summary>
    I64,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Boolean stored as one byte.</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Returns the size of one element in bytes.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.F64 or DType.I64 => 8,
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        DType.I8 or DType.U8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    /// <summary>Returns true for floating-point types, which merge methods average.</summary>
    public static bool IsFloat(this DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16 or DType.F64;

    /// <summary>Returns the safetensors spelling ("F32", "BOOL", ...).</summary>
    public static string ToSafetensorsName(this DType dtype) => dtype == DType.Bool ? "BOOL" : dtype.ToString();

    /// <summary>Parses a safetensors dtype name; returns false for names this implementation does not support.</summary>
    public static bool TryParse(string name, out DType dtype)
    {
        dtype = name switch
        {
            "F32" => DType.F32,
            "F16" => DType.F16,
            "BF16" => DType.BF16,
            "F64" => DType.F64,
            "I64" => DType.I64,
            "I32" => DType.I32,
            "I16" => DType.I16,
            "I8" => DType.I8,
            "U8" => DType.U8,
            "BOOL" => DType.Bool,
            _ => (DType)(-1),
        };
        return (int)dtype >= 0;
    }

    /// <summary>The dtype names accepted by <see cref="TryParse"/>, for error messages.</summary>
    public const string Supported = "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL";
}
