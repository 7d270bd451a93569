using System.Runtime.InteropServices;
using SwarmLearning.Core.Merging;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SwarmLearning.Core.Model;

/// <summary>Checks on model values.</summary>
public static class ModelChecks
{
    /// <summary>Returns the name of the first float tensor holding NaN or infinity, or null when every value is finite.</summary>
    public static string? FirstNonFinite(ModelState model)
    {
        foreach (var tensor in model.Tensors.Where(t => t.DType.IsFloat()))
        {
            bool finite = tensor.DType switch
            {
                DType.F32 => TensorPrimitives.IsFiniteAll<float>(tensor.AsSpan<float>()),
                DType.F16 => TensorPrimitives.IsFiniteAll<Half>(tensor.AsSpan<Half>()),
                DType.F64 => TensorPrimitives.IsFiniteAll<double>(tensor.AsSpan<double>()),
                _ => TensorPrimitives.IsFiniteAll<float>(MemoryMarshal.Cast<byte, float>(FloatConversion.ToFloat32Bytes(tensor).AsSpan())),
            };
            if (!finite)
            {
                return tensor.Name;
            }
        }
        return null;
    }
}
