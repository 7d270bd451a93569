using System.Runtime.InteropServices;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;

namespace SwarmLearning.MergeHashes;

/// <summary>Fixed merge inputs and the hash of every method's result on them (one line each: "method hash").</summary>
public static class MergeHashes
{
    /// <summary>The methods checked, by name.</summary>
    public static IReadOnlyList<string> Methods { get; } =
        ["mean", "coordmedian", "geomedian", "trimmedmean:0.2", "krum:f=1,m=3", "bulyan:f=1", "centredclip", "centredclip-around", "fedavgm-momentum", "mean-streamed"];

    /// <summary>Merges the fixed inputs with every method and returns "method hash" lines.</summary>
    public static IReadOnlyList<string> Compute()
    {
        var inputs = Inputs();
        var lines = new List<string>();
        foreach (string method in Methods)
        {
            lines.Add($"{method} {SafetensorsWriter.Hash(Merge(method, inputs)).Hex}");
        }
        return lines;
    }

    private static ModelState Merge(string method, IReadOnlyList<Contribution> inputs) => method switch
    {
        "centredclip-around" => new CentredClipping().MergeAround(inputs, Model(100, 0.5f)).Model,
        "fedavgm-momentum" => Momentum(inputs),
        "mean-streamed" => Streamed(inputs),
        _ => MergeMethods.Parse(method).Merge(inputs).Model,
    };

    private static ModelState Momentum(IReadOnlyList<Contribution> inputs)
    {
        var merged = new ServerMomentum(0.5).Merge(inputs).Model;
        new ServerMomentum(0.5).ApplyMomentum(merged, Model(101, 1), Model(102, 1));
        return merged;
    }

    private static ModelState Streamed(IReadOnlyList<Contribution> inputs)
    {
        var ordered = inputs.OrderBy(c => c.NodeId, StringComparer.Ordinal).ToList();
        var accumulator = new MeanAccumulator(ordered[0].Model.Signature, Reproducible.Sum(ordered.Select(c => c.Weight)));
        foreach (var contribution in ordered)
        {
            accumulator.Add(contribution);
        }
        return accumulator.Finish();
    }

    /// <summary>Seven models (F32 across several chunks with an odd tail, F16, BF16, an integer buffer) with unequal weights.</summary>
    public static IReadOnlyList<Contribution> Inputs() =>
        [.. Enumerable.Range(1, 7).Select(i => new Contribution($"node{i:00}", Model(i, i == 7 ? 50f : 1f), 1 + (i * 37 % 11)))];

    private static ModelState Model(int seed, float scale)
    {
        var random = new Random(seed);
        // Magnitudes spread over many exponents, so that any change in the order of rounding shows in the bits.
        float Next() => (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.Next(-6, 4)) * scale);
        float[] Floats(int n) => [.. Enumerable.Range(0, n).Select(_ => Next())];
        Half[] halves = [.. Enumerable.Range(0, 1001).Select(_ => (Half)(Next() / 1000))];
        ushort[] bfloats = [.. Enumerable.Range(0, 513).Select(_ => (ushort)(BitConverter.SingleToUInt32Bits(Next()) >> 16))];
        return new ModelState(
        [
            Tensor.FromFloats("layer.weight", [3, 23_457], Floats(3 * 23_457)),
            Tensor.FromFloats("layer.bias", [13], Floats(13)),
            new Tensor("half.weight", DType.F16, [1001], MemoryMarshal.AsBytes(halves.AsSpan()).ToArray()),
            new Tensor("bfloat.weight", DType.BF16, [513], MemoryMarshal.AsBytes(bfloats.AsSpan()).ToArray()),
            Tensor.FromInt64("bn.num_batches_tracked", [2], [random.Next(100), random.Next(100)]),
        ], new Dictionary<string, string> { ["seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    /// <summary>Prints the lines.</summary>
    public static void Main()
    {
        foreach (string line in Compute())
        {
            Console.WriteLine(line);
        }
    }
}
