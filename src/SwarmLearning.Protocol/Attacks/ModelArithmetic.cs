using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Attacks;

/// <summary>Arithmetic on a model's float32 tensors; other tensors (counters, other dtypes) are copied unchanged.</summary>
internal static class ModelArithmetic
{
    /// <summary><paramref name="origin"/> + <paramref name="factor"/> × (<paramref name="model"/> − <paramref name="origin"/>), tensor by tensor.</summary>
    public static ModelState Extrapolate(ModelState origin, ModelState model, float factor) =>
        Map(model, (name, values) =>
        {
            var from = origin[name].AsSpan<float>();
            for (int e = 0; e < values.Length; e++)
            {
                values[e] = from[e] + factor * (values[e] - from[e]);
            }
        });

    /// <summary>A model of the same layout whose floats are drawn from N(0, 1).</summary>
    public static ModelState Random(ModelState model, Random random) =>
        Map(model, (_, values) =>
        {
            for (int e = 0; e < values.Length; e++)
            {
                values[e] = (float)Normal(random);
            }
        });

    /// <summary>A copy of <paramref name="model"/> with <paramref name="change"/> applied to each float32 tensor's values in place.</summary>
    public static ModelState Map(ModelState model, SpanAction change)
    {
        var copy = model.Clone();
        foreach (var tensor in copy.Tensors.Where(t => t.DType == DType.F32))
        {
            change(tensor.Name, tensor.AsSpan<float>());
        }
        return copy;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    public delegate void SpanAction(string name, Span<float> values);
}
