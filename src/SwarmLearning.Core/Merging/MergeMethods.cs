using System.Globalization;

namespace SwarmLearning.Core.Merging;

/// <summary>Creates merge methods from their names: mean, coordmedian, geomedian, trimmedmean[:fraction], krum[:f=F,m=M].</summary>
public static class MergeMethods
{
    /// <summary>The names accepted, for help and error texts.</summary>
    public const string Help = "mean, coordmedian, geomedian, trimmedmean[:FRACTION] (default 0.2), krum[:f=F,m=M] (default f=1,m=1), fedavgm[:BETA] (mean plus server momentum, default 0.5)";

    /// <summary>Parses a method name with its options; throws <see cref="MergeException"/> with the accepted names otherwise.</summary>
    public static IMergeMethod Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().ToLowerInvariant().Split(':', 2);
        string? options = parts.Length > 1 ? parts[1] : null;
        return parts[0] switch
        {
            "mean" when options is null => new WeightedMean(),
            "coordmedian" when options is null => new CoordinateMedian(),
            "geomedian" when options is null => new GeometricMedian(),
            "trimmedmean" => new TrimmedMean(options is null ? 0.2 : ParseNumber(options, text)),
            "krum" => ParseKrum(options, text),
            "fedavgm" => ParseMomentum(options, text),
            _ => throw new MergeException($"unknown merge method '{text}'; use one of: {Help}"),
        };
    }

    private static ServerMomentum ParseMomentum(string? options, string text)
    {
        double beta = options is null ? 0.5 : ParseNumber(options, text);
        return beta is >= 0 and < 1 ? new ServerMomentum(beta) : throw new MergeException($"merge method '{text}': the momentum must be in [0, 1)");
    }

    private static Krum ParseKrum(string? options, string text)
    {
        int f = 1, m = 1;
        foreach (string option in (options ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = option.Split('=', 2);
            if (kv.Length != 2 || !int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            {
                throw new MergeException($"merge method '{text}': option '{option}' should look like f=1 or m=2");
            }
            switch (kv[0])
            {
                case "f": f = value; break;
                case "m": m = value; break;
                default: throw new MergeException($"merge method '{text}': unknown option '{kv[0]}' (krum takes f and m)");
            }
        }
        return new Krum(f, m);
    }

    private static double ParseNumber(string value, string text) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double result)
            ? result
            : throw new MergeException($"merge method '{text}': '{value}' is not a number");
}
