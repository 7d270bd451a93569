using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SwarmLearning.Core.Model;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SwarmLearning.Core.Privacy;

/// <summary>
/// The Gaussian mechanism on a node's update: <c>reference + clip(model − reference, C) + N(0, σ²C²)</c> over every
/// float32 tensor (weights and float buffers alike), with the noise drawn from the operating system's cryptographic
/// generator (a predictable generator would let the noise be subtracted). Integer tensors (counters) and metadata are the
/// reference's: they depend on the data too. Each call is one release for the accountant.
/// </summary>
public sealed class UpdatePrivatizer(DifferentialPrivacy settings)
{
    /// <summary>Null when <paramref name="signature"/> can be privatized, else why not: float tensors must be float32.</summary>
    public static string? Unsupported(ModelSignature signature) =>
        signature.Tensors.FirstOrDefault(t => t.DType.IsFloat() && t.DType != DType.F32) is { } tensor
            ? $"differential privacy needs float32 tensors, but '{tensor.Name}' is {tensor.DType}; convert the model to float32"
            : null;

    /// <summary>The released model and the update's L2 norm before clipping.</summary>
    public (ModelState Model, double UpdateNorm) Privatize(ModelState reference, ModelState model)
    {
        // Everything but the float32 values is the reference's (counters, integer buffers, metadata): they too depend on the data.
        var released = new ModelState(model.Tensors.Select(t => t.DType == DType.F32
            ? new Tensor(t.Name, t.DType, t.Shape, (byte[])t.Data.Clone())
            : new Tensor(t.Name, t.DType, t.Shape, (byte[])reference[t.Name].Data.Clone())), reference.Metadata);
        var floats = released.Tensors.Where(t => t.DType == DType.F32).ToList();
        double squared = 0;
        foreach (var tensor in floats)
        {
            var values = tensor.AsSpan<float>();
            TensorPrimitives.Subtract(values, reference[tensor.Name].AsSpan<float>(), values); // now the update
            double norm = TensorPrimitives.Norm(values);
            squared += norm * norm;
        }
        double updateNorm = Math.Sqrt(squared);
        // A diverged update (NaN or infinity) is released as no update at all: a NaN pattern would leak which values blew up.
        float scale = double.IsFinite(updateNorm) ? (float)Math.Min(1, settings.ClipNorm / Math.Max(updateNorm, double.Epsilon)) : 0f;
        double deviation = settings.NoiseMultiplier * settings.ClipNorm;
        foreach (var tensor in floats)
        {
            var values = tensor.AsSpan<float>();
            if (scale == 0)
            {
                values.Clear();
            }
            TensorPrimitives.Multiply(values, scale, values);
            AddGaussian(values, deviation);
            TensorPrimitives.Add(values, reference[tensor.Name].AsSpan<float>(), values);
        }
        return (released, updateNorm);
    }

    /// <summary>Adds N(0, deviation²) to each value (Box–Muller on cryptographically random 53-bit uniforms).</summary>
    private static void AddGaussian(Span<float> values, double deviation)
    {
        const int chunk = 4096; // pairs of uniforms per draw from the generator
        var random = new ulong[2 * chunk];
        for (int start = 0; start < values.Length; start += 2 * chunk)
        {
            RandomNumberGenerator.Fill(MemoryMarshal.AsBytes(random.AsSpan()));
            int end = Math.Min(values.Length, start + 2 * chunk);
            for (int i = start, r = 0; i < end; i += 2, r += 2)
            {
                double u1 = ((random[r] >> 11) + 1) * (1.0 / (1UL << 53)); // (0, 1]: the log is finite
                double u2 = (random[r + 1] >> 11) * (1.0 / (1UL << 53));
                double radius = deviation * Math.Sqrt(-2 * Math.Log(u1));
                values[i] += (float)(radius * Math.Cos(2 * Math.PI * u2));
                if (i + 1 < end)
                {
                    values[i + 1] += (float)(radius * Math.Sin(2 * Math.PI * u2));
                }
            }
        }
    }
}
