using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

/// <summary>Bulyan and centred clipping: what each tolerates, what each needs, and their arithmetic on known values.</summary>
public sealed class RobustMergeTests
{
    private static List<Contribution> Honest(int seed, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Contribution($"h{i:00}", TestModels.Random(seed * 17 + i), 1))];

    private static Contribution Wild(int seed, string id, float scale = 1e5f) => new(id, TestModels.Random(seed, scale), 1);

    private static (float Min, float Max) HonestRange(List<Contribution> honest, string tensor, int e) =>
        (honest.Min(c => TestModels.Floats(c.Model, tensor)[e]), honest.Max(c => TestModels.Floats(c.Model, tensor)[e]));

    [Theory]
    [InlineData(new float[] { 1, 2, 3, 100, -50 }, 3, 2f)]
    [InlineData(new float[] { 0, 10, 11, 12, 1000 }, 2, 10.5f)] // median 11, then 10 and 12 tie: the lower is taken
    [InlineData(new float[] { 4, 1 }, 1, 1f)]                     // even count: median 2.5, 1 and 4 tie: the lower is taken
    public void Bulyan_averages_the_values_closest_to_the_median(float[] values, int keep, float expected) =>
        Assert.Equal(expected, Bulyan.MeanClosestToMedian(values, keep), 5);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Bulyan_keeps_every_coordinate_within_the_honest_range_with_f_wild_models(int f)
    {
        for (int seed = 1; seed <= 10; seed++)
        {
            var honest = Honest(seed, 3 * f + 3);
            var attackers = Enumerable.Range(0, f).Select(i => Wild(seed * 100 + i, $"x{i}", i % 2 == 0 ? 1e5f : -1e5f)).ToList();
            var result = new Bulyan(f).Merge([.. honest, .. attackers]);
            Assert.DoesNotContain("x", result.Note.Split("picked")[1].Split(',')[0], StringComparison.Ordinal);
            for (int e = 0; e < 15; e++)
            {
                var (min, max) = HonestRange(honest, "fc1.weight", e);
                float merged = TestModels.Floats(result.Model, "fc1.weight")[e];
                Assert.InRange(merged, min, max);
            }
        }
    }

    [Fact]
    public void Bulyan_refuses_fewer_than_4f_plus_3_models_saying_what_to_change()
    {
        var error = Assert.Throws<MergeException>(() => new Bulyan(2).Merge(Honest(1, 10)));
        Assert.Equal("bulyan with f=2 needs at least 11 models (4f+3) but 10 were given; lower f or raise minPeers", error.Message);
        Assert.Throws<MergeException>(() => new Bulyan(0));
        Assert.Equal("bulyan:f=2", MergeMethods.Parse("Bulyan:f=2").Name);
        Assert.Equal("bulyan:f=1", MergeMethods.Parse("bulyan").Name);
        Assert.Contains("f must be a whole number", Assert.Throws<MergeException>(() => MergeMethods.Parse("bulyan:f=1.5")).Message);
        Assert.Contains("unknown option 'm'", Assert.Throws<MergeException>(() => MergeMethods.Parse("bulyan:m=2")).Message);
    }

    [Fact]
    public void A_list_of_methods_keeps_each_method_s_options_together() =>
        Assert.Equal(["mean", "krum:f=2,m=6", "centredclip:tau=0.5,l=2", "bulyan"], MergeMethods.SplitList("mean, krum:f=2,m=6,centredclip:tau=0.5,l=2,bulyan"));

    [Fact]
    public void Bulyan_gives_the_same_bits_whatever_order_the_models_arrive_in()
    {
        var models = Honest(3, 9);
        var reversed = Enumerable.Reverse(models).ToList();
        Assert.Equal(SafetensorsWriter.Hash(new Bulyan(1).Merge(models).Model), SafetensorsWriter.Hash(new Bulyan(1).Merge(reversed).Model));
    }

    [Fact]
    public void Centred_clipping_with_a_radius_above_every_distance_is_the_plain_mean_whatever_the_declared_weights()
    {
        var models = Honest(4, 5).Select((c, i) => c with { Weight = i + 1 }).ToList();
        var centre = TestModels.Random(99);
        var clipped = new CentredClipping(radius: 1e9, iterations: 1).MergeAround(models, centre).Model;
        var mean = new WeightedMean().Merge([.. models.Select(c => c with { Weight = 1 })]).Model;
        var (a, b) = (TestModels.Floats(clipped, "fc1.weight"), TestModels.Floats(mean, "fc1.weight"));
        for (int e = 0; e < a.Length; e++)
        {
            Assert.Equal(b[e], a[e], 4);
        }
    }

    [Fact]
    public void Centred_clipping_moves_at_most_tau_per_step_however_far_an_attacker_lies()
    {
        var centre = TestModels.Random(7);
        var honest = Enumerable.Range(0, 8).Select(i => new Contribution($"h{i}", Shift(centre, 0.01f * (i + 1), i), 1)).ToList();
        var attacker = new Contribution("x", TestModels.Random(8, scale: 1e6f), 1);
        var method = new CentredClipping(iterations: 3);
        var result = method.MergeAround([.. honest, attacker], centre);
        double honestFarthest = honest.Max(h => Distance(h.Model, centre));
        // Each step moves v by at most Σ wᵢ τ = τ, and τ is the median distance (at most the farthest honest one).
        Assert.True(Distance(result.Model, centre) <= 3 * honestFarthest * 1.0001, result.Note);
        Assert.Matches("tau [0-9.e-]+, [1-5] clipped at the first step", result.Note); // the attacker and the honest ones above the median
        var mean = new WeightedMean().Merge([.. honest, attacker]).Model;
        Assert.True(Distance(mean, centre) > 1000, "the mean is dragged away; clipping is what holds");
        Assert.Equal("centredclip:tau=0.5,l=2", MergeMethods.Parse("centredclip:tau=0.5,l=2").Name);
        Assert.Contains("positive radius", Assert.Throws<MergeException>(() => MergeMethods.Parse("centredclip:tau=-1")).Message);
    }

    [Fact]
    public void Centred_clipping_without_a_centre_clips_around_the_coordinate_median()
    {
        var honest = Honest(5, 6);
        var result = new CentredClipping().Merge([.. honest, Wild(5, "x")]);
        Assert.Contains("around the coordinate median", result.Note);
        Assert.True(TestModels.Floats(result.Model, "fc1.weight").All(v => Math.Abs(v) < 2));
    }

    private static ModelState Shift(ModelState model, float by, int seed)
    {
        var copy = model.Clone();
        var random = new Random(seed);
        foreach (var tensor in copy.Tensors.Where(t => t.DType == DType.F32))
        {
            var values = tensor.AsSpan<float>();
            for (int e = 0; e < values.Length; e++)
            {
                values[e] += by * (float)(random.NextDouble() * 2 - 1);
            }
        }
        return copy;
    }

    private static double Distance(ModelState a, ModelState b) => Math.Sqrt(a.Tensors.Where(t => t.DType == DType.F32)
        .Sum(t => t.AsSpan<float>().ToArray().Zip(b[t.Name].AsSpan<float>().ToArray()).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second))));
}
