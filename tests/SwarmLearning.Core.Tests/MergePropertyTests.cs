using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

public sealed class MergePropertyTests
{
    private static readonly IMergeMethod[] s_all =
        [new WeightedMean(), new CoordinateMedian(), new GeometricMedian(), new TrimmedMean(0.2), new Krum(1, 2), new CentredClipping()];

    private static List<Contribution> Swarm(int seed, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Contribution($"node-{i}", TestModels.Random(seed * 31 + i), 1 + (seed + i) % 4))];

    private static List<Contribution> Shuffle(List<Contribution> items, int seed) => [.. items.OrderBy(_ => new Random(seed).Next())
        .Select((c, i) => (c, key: new Random(seed + i).Next())).OrderBy(p => p.key).Select(p => p.c)];

    [Property(MaxTest = 40)]
    public Property Every_method_gives_the_same_bits_whatever_order_the_models_arrive_in(PositiveInt seed, PositiveInt order)
    {
        int n = 5 + seed.Get % 4;
        var swarm = Swarm(seed.Get, n);
        var shuffled = Shuffle(swarm, order.Get);
        return s_all.All(m => SafetensorsWriter.Hash(m.Merge(swarm).Model) == SafetensorsWriter.Hash(m.Merge(shuffled).Model)).ToProperty();
    }

    [Property(MaxTest = 40)]
    public Property Merging_identical_models_returns_the_model(PositiveInt seed, PositiveInt count)
    {
        var model = TestModels.Random(seed.Get);
        var copies = Enumerable.Range(0, 1 + count.Get % 7).Select(i => new Contribution($"n{i}", model.Clone(), 1 + i)).ToList();
        bool exact = new IMergeMethod[] { new CoordinateMedian(), new TrimmedMean(0.2) }
            .All(m => SafetensorsWriter.Hash(m.Merge(copies).Model) == SafetensorsWriter.Hash(model));
        bool close = new IMergeMethod[] { new WeightedMean(), new GeometricMedian() }.All(m => Close(m.Merge(copies).Model, model, 1e-6f));
        return (exact && close).ToProperty();
    }

    [Property(MaxTest = 40)]
    public Property Medians_and_trimmed_mean_ignore_a_minority_of_wild_outliers(PositiveInt seed, bool negative)
    {
        int honest = 5 + seed.Get % 4;
        var swarm = Enumerable.Range(0, honest).Select(i => new Contribution($"h{i}", TestModels.Random(seed.Get * 7 + i), 1)).ToList();
        float wild = negative ? -1e6f : 1e6f;
        int trimmedOutliers = new TrimmedMean(0.2).TrimCount(honest + 1);
        var outliers = Enumerable.Range(0, Math.Max(1, trimmedOutliers))
            .Select(i => new Contribution($"x{i}", TestModels.Random(seed.Get + 1000 + i, scale: wild), 1)).ToList();
        var methods = new IMergeMethod[] { new CoordinateMedian(), new TrimmedMean(0.2), new GeometricMedian() };
        bool ok = methods.All(m => WithinHonestRange(m.Merge([.. swarm, .. outliers]).Model, swarm, m is GeometricMedian ? 1.0f : 0f));
        return ok.ToProperty();
    }

    [Property(MaxTest = 30)]
    public Property Krum_never_keeps_a_wild_model_when_f_bounds_them(PositiveInt seed)
    {
        var swarm = Enumerable.Range(0, 6).Select(i => new Contribution($"h{i}", TestModels.Random(seed.Get * 3 + i), 1)).ToList();
        var outlier = new Contribution("bad", TestModels.Random(seed.Get, scale: 1e4f), 1);
        var result = new Krum(byzantine: 1, selected: 3).Merge([.. swarm, outlier]);
        return (!result.Note.Contains("bad", StringComparison.Ordinal)).ToProperty();
    }

    [Property(MaxTest = 40)]
    public Property Mean_matches_a_double_precision_weighted_average(PositiveInt seed)
    {
        var swarm = Swarm(seed.Get, 2 + seed.Get % 6);
        var merged = new WeightedMean().Merge(swarm).Model;
        double total = swarm.Sum(c => c.Weight);
        var expected = Enumerable.Range(0, 15).Select(e => swarm.Sum(c => c.Weight * TestModels.Floats(c.Model, "fc1.weight")[e]) / total);
        return expected.Zip(TestModels.Floats(merged, "fc1.weight")).All(p => Math.Abs(p.First - p.Second) < 1e-5).ToProperty();
    }

    [Fact]
    public void Streaming_accumulator_gives_the_same_bits_as_the_in_memory_mean()
    {
        var swarm = Swarm(9, 6);
        var accumulator = new MeanAccumulator(swarm[0].Model.Signature, swarm.Sum(c => c.Weight));
        foreach (var c in swarm.OrderBy(c => c.NodeId, StringComparer.Ordinal))
        {
            accumulator.Add(c);
        }
        Assert.Equal(SafetensorsWriter.Hash(new WeightedMean().Merge(swarm).Model), SafetensorsWriter.Hash(accumulator.Finish()));
    }

    [Fact]
    public void Reusing_an_old_output_gives_the_same_bits_and_writes_into_its_buffers()
    {
        var swarm = Swarm(11, 5);
        foreach (IMergeMethod method in new IMergeMethod[] { new WeightedMean(), new CoordinateMedian(), new TrimmedMean(0.2) })
        {
            var old = TestModels.Random(99);
            var fresh = method.Merge(swarm).Model;
            var reused = method.Merge(swarm, old).Model;
            Assert.Equal(SafetensorsWriter.Hash(fresh), SafetensorsWriter.Hash(reused));
            Assert.Same(old["fc1.weight"].Data, reused["fc1.weight"].Data);
        }
        var accumulator = new MeanAccumulator(swarm[0].Model.Signature, swarm.Sum(c => c.Weight), TestModels.Random(98));
        foreach (var c in swarm.OrderBy(c => c.NodeId, StringComparer.Ordinal))
        {
            accumulator.Add(c);
        }
        Assert.Equal(SafetensorsWriter.Hash(new WeightedMean().Merge(swarm).Model), SafetensorsWriter.Hash(accumulator.Finish()));
    }

    [Fact]
    public void Accumulator_refuses_a_merge_with_a_contribution_missing()
    {
        var swarm = Swarm(4, 3);
        var accumulator = new MeanAccumulator(swarm[0].Model.Signature, swarm.Sum(c => c.Weight));
        accumulator.Add(swarm[0]);
        Assert.Contains("a contribution is missing", Assert.Throws<MergeException>(accumulator.Finish).Message);
    }

    [Fact]
    public void Weighted_coordinate_median_follows_the_heavier_side()
    {
        ModelState One(float v) => new([Tensor.FromFloats("w", [1], [v])]);
        var result = new CoordinateMedian().Merge([new("a", One(0), 1), new("b", One(10), 3)]).Model;
        Assert.Equal(10f, result["w"].AsSpan<float>()[0]);
        var even = new CoordinateMedian().Merge([new("a", One(0), 1), new("b", One(10), 1)]).Model;
        Assert.Equal(5f, even["w"].AsSpan<float>()[0]);
    }

    [Fact]
    public void Integer_buffers_take_the_weighted_lower_median_a_value_some_node_holds()
    {
        ModelState Counter(long v) => new([Tensor.FromFloats("w", [1], [1f]), Tensor.FromInt64("n", [], [v])]);
        foreach (var method in s_all.Where(m => m is not Krum))
        {
            var result = method.Merge([new("a", Counter(10), 1), new("b", Counter(20), 1), new("c", Counter(300), 1)]).Model;
            Assert.Equal(20L, result["n"].AsSpan<long>()[0]);
        }
    }

    [Fact]
    public void Half_and_bfloat16_tensors_merge_in_float32_and_keep_their_dtype()
    {
        static ModelState Of(DType dtype, float value)
        {
            var f32 = Tensor.FromFloats("w", [4], [value, value, value, value]);
            return new ModelState([dtype switch
            {
                DType.F16 => new Tensor("w", dtype, [4], [.. Enumerable.Range(0, 4).SelectMany(_ => BitConverter.GetBytes((Half)value))]),
                _ => new Tensor("w", dtype, [4], [.. Enumerable.Range(0, 4).SelectMany(_ => BitConverter.GetBytes(BitConverter.SingleToUInt32Bits(value)).Skip(2))]),
            }]);
        }
        foreach (var dtype in new[] { DType.F16, DType.BF16 })
        {
            var merged = new WeightedMean().Merge([new("a", Of(dtype, 1f), 1), new("b", Of(dtype, 2f), 1)]).Model;
            Assert.Equal(dtype, merged["w"].DType);
            float first = dtype == DType.F16
                ? (float)merged["w"].AsSpan<Half>()[0]
                : BitConverter.UInt32BitsToSingle((uint)merged["w"].AsSpan<ushort>()[0] << 16);
            Assert.Equal(1.5f, first);
        }
    }

    [Fact]
    public void Geometric_median_reports_how_it_stopped()
    {
        var note = new GeometricMedian().Merge(Swarm(5, 5)).Note;
        Assert.Matches(@"\d+ Weiszfeld iterations, stopped: (step|objective)", note);
    }

    private static bool Close(ModelState a, ModelState b, float tolerance) =>
        a.Tensors.Zip(b.Tensors).All(p => p.First.DType != DType.F32
            || p.First.AsSpan<float>().ToArray().Zip(p.Second.AsSpan<float>().ToArray()).All(v => Math.Abs(v.First - v.Second) <= tolerance));

    private static bool WithinHonestRange(ModelState merged, List<Contribution> honest, float slack)
    {
        foreach (string name in new[] { "fc1.weight", "fc1.bias" })
        {
            var values = TestModels.Floats(merged, name);
            for (int e = 0; e < values.Length; e++)
            {
                var column = honest.Select(c => TestModels.Floats(c.Model, name)[e]).ToArray();
                if (values[e] < column.Min() - slack || values[e] > column.Max() + slack)
                {
                    return false;
                }
            }
        }
        return true;
    }
}
