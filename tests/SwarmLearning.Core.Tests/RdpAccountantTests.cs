using SwarmLearning.Core.Privacy;

namespace SwarmLearning.Core.Tests;

/// <summary>The Rényi-DP accountant against the plain Gaussian mechanism's closed forms, and what subsampling buys.</summary>
public sealed class RdpAccountantTests
{
    [Theory]
    [InlineData(0.5, 2)]
    [InlineData(1.0, 7)]
    [InlineData(2.5, 32)]
    public void Without_sampling_each_release_costs_the_gaussian_mechanisms_rdp_alpha_over_two_sigma_squared(double sigma, int alpha)
    {
        Assert.Equal(alpha / (2 * sigma * sigma), RdpAccountant.SampledGaussianRdp(1, sigma, alpha), 12);
        // The binomial expansion (q < 1) tends to the same value as q tends to 1.
        Assert.Equal(alpha / (2 * sigma * sigma), RdpAccountant.SampledGaussianRdp(1 - 1e-9, sigma, alpha), 5);
    }

    [Theory]
    [InlineData(1.0, 1, 1e-5)]
    [InlineData(2.0, 10, 1e-5)]
    [InlineData(4.0, 100, 1e-6)]
    public void Composed_gaussian_releases_are_bounded_close_above_the_exact_privacy_profile(double sigma, int steps, double delta)
    {
        var accountant = new RdpAccountant(sigma);
        accountant.Step(1, steps);
        double rdp = accountant.Epsilon(delta);

        // T Gaussian releases of sensitivity 1 and noise σ are exactly one with μ = √T / σ (Balle and Wang 2018):
        // δ(ε) = Φ(-ε/μ + μ/2) - e^ε Φ(-ε/μ - μ/2). The RDP conversion is an upper bound, and a tight one.
        double mu = Math.Sqrt(steps) / sigma;
        double exact = Bisect(e => Phi(-e / mu + mu / 2) - Math.Exp(e) * Phi(-e / mu - mu / 2) - delta, 0, 100);
        Assert.InRange(rdp, exact, exact * 1.25 + 0.05);
    }

    [Fact]
    public void Sampling_amplifies_privacy_and_more_steps_cost_more()
    {
        var full = new RdpAccountant(1.1);
        var sampled = new RdpAccountant(1.1);
        full.Step(1, 100);
        sampled.Step(0.01, 100);
        Assert.True(sampled.Epsilon(1e-5) < full.Epsilon(1e-5) / 5);
        double before = sampled.Epsilon(1e-5);
        sampled.Step(0.01, 1000);
        Assert.True(sampled.Epsilon(1e-5) > before);
        Assert.Equal(1100, sampled.Steps);
        Assert.Equal(0, new RdpAccountant(1).Epsilon(1e-5));
    }

    [Fact]
    public void Nonsense_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant(1).Step(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant(1).Step(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RdpAccountant(1).Epsilon(0));
    }

    private static double Bisect(Func<double, double> f, double low, double high)
    {
        for (int i = 0; i < 200; i++)
        {
            double middle = (low + high) / 2;
            if (f(middle) > 0)
            {
                low = middle; // δ(ε) decreases in ε
            }
            else
            {
                high = middle;
            }
        }
        return (low + high) / 2;
    }

    /// <summary>The standard normal CDF, from erfc (the Chebyshev-fitted erfcc of Numerical Recipes, fractional error below 1.2e-7).</summary>
    private static double Phi(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    private static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398
            + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
