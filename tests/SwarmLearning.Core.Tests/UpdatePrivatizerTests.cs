using SwarmLearning.Core.Model;
using SwarmLearning.Core.Privacy;

namespace SwarmLearning.Core.Tests;

/// <summary>The Gaussian mechanism on updates: clipping bounds the norm, the noise has the promised spread, and σ meets a budget.</summary>
public sealed class UpdatePrivatizerTests
{
    private static ModelState Model(float[] weights, long counter = 7) =>
        new([Tensor.FromFloats("w", [weights.Length], weights), Tensor.FromInt64("n", [], [counter])]);

    private static double Norm(float[] a, float[] b) => Math.Sqrt(a.Zip(b).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second)));

    [Fact]
    public void An_update_longer_than_C_is_scaled_to_norm_C_in_its_own_direction_and_counters_are_the_reference_s()
    {
        float[] reference = [1, 1, 1, 1], trained = [7, 1, 9, 1]; // update (6, 0, 8, 0): norm 10
        var privatizer = new UpdatePrivatizer(new DifferentialPrivacy(ClipNorm: 2, NoiseMultiplier: 1e-9, Delta: 1e-5));
        var (released, norm) = privatizer.Privatize(Model(reference), Model(trained, counter: 9));
        Assert.Equal(10, norm, 4);
        float[] values = released["w"].AsSpan<float>().ToArray();
        Assert.Equal([2.2f, 1f, 2.6f, 1f], values.Select(v => MathF.Round(v, 4)));
        Assert.Equal(7L, released["n"].AsSpan<long>()[0]); // the trained counter (9) counts batches: data-dependent, not released
        Assert.Equal(trained, Model(trained)["w"].AsSpan<float>().ToArray()); // the program's model is not touched
    }

    [Fact]
    public void An_update_shorter_than_C_is_kept_whole()
    {
        float[] reference = [0, 0, 0], trained = [0.3f, -0.4f, 0];
        var (released, _) = new UpdatePrivatizer(new DifferentialPrivacy(1, 1e-9, 1e-5)).Privatize(Model(reference), Model(trained));
        Assert.Equal(0.5, Norm(released["w"].AsSpan<float>().ToArray(), reference), 4);
    }

    [Fact]
    public void The_noise_is_centred_with_standard_deviation_sigma_times_C_and_differs_every_release()
    {
        var zeros = Model(new float[200_000]);
        var privatizer = new UpdatePrivatizer(new DifferentialPrivacy(ClipNorm: 2, NoiseMultiplier: 0.75, Delta: 1e-5));
        float[] a = privatizer.Privatize(zeros, zeros).Model["w"].AsSpan<float>().ToArray();
        float[] b = privatizer.Privatize(zeros, zeros).Model["w"].AsSpan<float>().ToArray();
        double mean = a.Average(v => (double)v), deviation = Math.Sqrt(a.Average(v => (double)v * v) - mean * mean);
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(deviation, 1.5 * 0.98, 1.5 * 1.02);
        double tail = a.Count(v => Math.Abs(v) > 3 * 1.5) / (double)a.Length; // a normal's mass beyond 3 deviations is 0.27 %
        Assert.InRange(tail, 0.0020, 0.0034);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void A_diverged_update_is_released_as_noise_around_the_reference_not_as_NaN()
    {
        var (released, norm) = new UpdatePrivatizer(new DifferentialPrivacy(1, 0.1, 1e-5)).Privatize(Model([1, 2, 3]), Model([float.NaN, 2, float.PositiveInfinity]));
        Assert.True(double.IsNaN(norm) || double.IsInfinity(norm));
        Assert.All(released["w"].AsSpan<float>().ToArray().Zip(new float[] { 1, 2, 3 }), p => Assert.InRange(p.First - p.Second, -1f, 1f));
    }

    [Fact]
    public void Half_precision_models_are_refused_under_differential_privacy()
    {
        var signature = new ModelSignature([new TensorSpec("w", DType.F16, [4])]);
        Assert.Equal("differential privacy needs float32 tensors, but 'w' is F16; convert the model to float32", UpdatePrivatizer.Unsupported(signature));
    }

    [Theory]
    [InlineData(1.0, 20)]
    [InlineData(3.0, 20)]
    [InlineData(8.0, 200)]
    public void The_noise_chosen_for_a_budget_spends_it_and_no_more(double epsilon, long steps)
    {
        double sigma = RdpAccountant.NoiseFor(epsilon, 1e-5, steps);
        var accountant = new RdpAccountant(sigma);
        accountant.Step(q: 1, steps);
        Assert.InRange(accountant.Epsilon(1e-5), epsilon * 0.99, epsilon);
    }

    [Theory]
    [InlineData(0, 1, 1e-5, "dpClipNorm must be a positive number (got 0)")]
    [InlineData(1, 0, 1e-5, "dpNoiseMultiplier must be positive, at most 1e6 (got 0); without noise clipping gives no privacy")]
    [InlineData(1, 1, 1, "dpDelta must be between 0 and 1, e.g. 1e-5 (got 1)")]
    [InlineData(double.NaN, 1, 1e-5, "dpClipNorm must be a positive number (got NaN)")]
    public void Settings_that_cannot_work_are_named(double clip, double sigma, double delta, string expected) =>
        Assert.Equal(expected, new DifferentialPrivacy(clip, sigma, delta).Problem());
}
