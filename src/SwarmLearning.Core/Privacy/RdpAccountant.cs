namespace SwarmLearning.Core.Privacy;

/// <summary>
/// A Rényi-DP accountant for the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy
/// of the Sampled Gaussian Mechanism", integer orders): each step releases a sum clipped to norm C plus N(0, σ²C²)
/// noise, computed on a random subset taken with probability q. RDP composes by adding over steps; the total is turned
/// into (ε, δ)-DP with the conversion of Balle et al. 2020 (Proposition 12 of "Hypothesis testing interpretations and
/// Rényi differential privacy"), at the order that gives the smallest ε. With q = 1 it is the plain Gaussian
/// mechanism, whose RDP is α / (2σ²) exactly. Pure; no state besides the steps taken.
/// </summary>
public sealed class RdpAccountant
{
    /// <summary>The orders tried (integers: the exact binomial expansion of the sampled Gaussian's RDP holds for them).</summary>
    public static readonly IReadOnlyList<int> Orders = [.. Enumerable.Range(2, 63), 80, 96, 128, 160, 192, 256];

    private readonly double[] _rdp = new double[Orders.Count];

    /// <summary>An accountant for noise multiplier <paramref name="sigma"/> (noise standard deviation over the clipping norm).</summary>
    public RdpAccountant(double sigma)
    {
        Sigma = sigma > 0 && double.IsFinite(sigma) ? sigma : throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "the noise multiplier must be positive");
    }

    /// <summary>The noise multiplier σ.</summary>
    public double Sigma { get; }

    /// <summary>Steps accounted so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Accounts <paramref name="steps"/> releases, each on a subset sampled with probability <paramref name="q"/> (1: everything).</summary>
    public void Step(double q, long steps = 1)
    {
        if (!(q > 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "the sampling rate must be in (0, 1]");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        for (int i = 0; i < Orders.Count; i++)
        {
            _rdp[i] += steps * SampledGaussianRdp(q, Sigma, Orders[i]);
        }
        Steps += steps;
    }

    /// <summary>The ε of (ε, δ)-DP for everything accounted so far (0 before the first step).</summary>
    public double Epsilon(double delta)
    {
        if (!(delta > 0 && delta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be in (0, 1)");
        }
        if (Steps == 0)
        {
            return 0;
        }
        double best = double.PositiveInfinity;
        for (int i = 0; i < Orders.Count; i++)
        {
            double alpha = Orders[i];
            double epsilon = _rdp[i] + Math.Log((alpha - 1) / alpha) - (Math.Log(delta) + Math.Log(alpha)) / (alpha - 1);
            best = Math.Min(best, Math.Max(0, epsilon));
        }
        return best;
    }

    /// <summary>
    /// The smallest noise multiplier (to 0.1 %) for which <paramref name="steps"/> releases at sampling rate
    /// <paramref name="q"/> stay within <paramref name="epsilon"/> at <paramref name="delta"/>: how to choose σ for a budget.
    /// </summary>
    public static double NoiseFor(double epsilon, double delta, long steps, double q = 1)
    {
        if (!(epsilon > 0 && double.IsFinite(epsilon)) || steps < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "the budget ε and the steps must be positive");
        }
        double EpsilonOf(double sigma)
        {
            var accountant = new RdpAccountant(sigma);
            accountant.Step(q, steps);
            return accountant.Epsilon(delta);
        }
        double low = 0.05, high = 0.05;
        while (EpsilonOf(high) > epsilon)
        {
            (low, high) = (high, high * 2);
            if (high > 1e6)
            {
                throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "no noise multiplier up to 1e6 meets this budget");
            }
        }
        while (high - low > 1e-3 * high)
        {
            double middle = (low + high) / 2;
            (low, high) = EpsilonOf(middle) > epsilon ? (middle, high) : (low, middle);
        }
        return high;
    }

    /// <summary>
    /// The RDP at integer order <paramref name="alpha"/> of one sampled Gaussian release:
    /// (1 / (α-1)) · log Σ_k C(α,k) (1-q)^(α-k) q^k exp((k² - k) / (2σ²)), summed in log space.
    /// </summary>
    public static double SampledGaussianRdp(double q, double sigma, int alpha)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(alpha, 2);
        if (q >= 1)
        {
            return alpha / (2 * sigma * sigma);
        }
        double logSum = double.NegativeInfinity;
        double logQ = Math.Log(q), log1MinusQ = double.LogP1(-q);
        for (int k = 0; k <= alpha; k++)
        {
            double term = LogBinomial(alpha, k) + (alpha - k) * log1MinusQ + k * logQ + (k * (double)k - k) / (2 * sigma * sigma);
            logSum = LogAdd(logSum, term);
        }
        return logSum / (alpha - 1);
    }

    private static double LogBinomial(int n, int k) => LogFactorial(n) - LogFactorial(k) - LogFactorial(n - k);

    private static double LogFactorial(int n)
    {
        double sum = 0;
        for (int i = 2; i <= n; i++)
        {
            sum += Math.Log(i);
        }
        return sum;
    }

    private static double LogAdd(double a, double b) =>
        double.IsNegativeInfinity(a) ? b : double.IsNegativeInfinity(b) ? a : Math.Max(a, b) + double.LogP1(Math.Exp(-Math.Abs(a - b)));
}
