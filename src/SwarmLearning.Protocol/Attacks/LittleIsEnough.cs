using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Attacks;

/// <summary>
/// Where "a little is enough" attackers agree: at each sync every attacker hands in its honest update, and once all have
/// (or <see cref="Patience"/> has passed) each gets the last merged model + μ − z·s, with μ and s the mean and standard
/// deviation of the attackers' updates per coordinate and z = Φ⁻¹((n − k)/n), k = ⌊n/2 + 1⌋ − f: the largest shift
/// for which the attackers still look closer to the middle than enough honest nodes (Baruch et al., 2019).
/// </summary>
public sealed class LittleIsEnough(int nodes, int attackers)
{
    private readonly Dictionary<int, Gathering> _rounds = [];

    /// <summary>How long an attacker waits for the others at one sync before shifting with those it has.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The shift in standard deviations.</summary>
    public double Z { get; } = ShiftFor(nodes, attackers);

    /// <summary>z for <paramref name="nodes"/> nodes of which <paramref name="attackers"/> attack.</summary>
    public static double ShiftFor(int nodes, int attackers)
    {
        int supporters = Math.Max(1, nodes / 2 + 1 - attackers);
        return InverseNormal((nodes - supporters) / (double)nodes);
    }

    /// <summary>The model attacker number <paramref name="sync"/>-th sync offers, given its honest <paramref name="trained"/> model.</summary>
    public async Task<ModelState> ShiftAsync(int sync, ModelState reference, ModelState trained, CancellationToken cancellationToken)
    {
        Gathering gathering;
        bool last;
        lock (_rounds)
        {
            if (!_rounds.TryGetValue(sync, out gathering!))
            {
                _rounds[sync] = gathering = new Gathering();
            }
            gathering.Updates.Add(trained);
            last = gathering.Updates.Count >= attackers;
        }
        if (last)
        {
            gathering.AllIn.TrySetResult(); // outside the lock: the others' continuations may run here
        }
        await Task.WhenAny(gathering.AllIn.Task, Task.Delay(Patience, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        List<ModelState> updates;
        lock (_rounds)
        {
            updates = [.. gathering.Updates];
            _rounds.Remove(sync - 2); // every attacker is past it: drop the models it held
        }
        return ModelArithmetic.Map(reference, (name, values) =>
        {
            var columns = updates.Select(u => u[name].AsSpan<float>().ToArray()).ToArray();
            for (int e = 0; e < values.Length; e++)
            {
                double mean = 0, square = 0;
                foreach (var column in columns)
                {
                    double delta = column[e] - values[e];
                    mean += delta;
                    square += delta * delta;
                }
                mean /= columns.Length;
                int count = columns.Length;
                double deviation = count < 2 ? 0 : Math.Sqrt(Math.Max(0, (square - count * mean * mean) / (count - 1))); // the sample deviation
                values[e] = (float)(values[e] + mean - Z * deviation);
            }
        });
    }

    /// <summary>Φ⁻¹(p) by bisection on Φ (p in (0, 1)).</summary>
    internal static double InverseNormal(double p)
    {
        double low = -10, high = 10;
        for (int i = 0; i < 100; i++)
        {
            double middle = (low + high) / 2;
            if (NormalCdf(middle) < p)
            {
                low = middle;
            }
            else
            {
                high = middle;
            }
        }
        return (low + high) / 2;
    }

    /// <summary>Φ(x) through erfc (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).</summary>
    internal static double NormalCdf(double x)
    {
        double z = Math.Abs(x) / Math.Sqrt(2), t = 1 / (1 + 0.5 * z);
        double erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - erfc / 2 : erfc / 2;
    }

    private sealed class Gathering
    {
        public List<ModelState> Updates { get; } = [];
        // Continuations run where the result is set (no thread-pool hop), so a single-threaded simulation moves on at once.
        public TaskCompletionSource AllIn { get; } = new();
    }
}
