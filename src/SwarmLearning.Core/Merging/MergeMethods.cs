using System.Globalization;

namespace SwarmLearning.Core.Merging;

/// <summary>Creates merge methods from their names: mean, coordmedian, geomedian, trimmedmean[:fraction], krum[:f=F,m=M], bulyan[:f=F], centredclip[:tau=T,l=L], fedavgm[:beta].</summary>
public static class MergeMethods
{
    /// <summary>The names accepted, for help and error texts.</summary>
    public const string Help = "mean, coordmedian, geomedian, trimmedmean[:FRACTION] (default 0.2), krum[:f=F,m=M] (default f=1,m=1), bulyan[:f=F] (default f=1; needs 4f+3 models), centredclip[:tau=T,l=L] (clipped around the last merged model; default tau: the median distance, l=3), fedavgm[:BETA] (mean plus server momentum, default 0.5)";

    /// <summary>
    /// Splits a comma-separated list of methods whose options also use commas ("mean,krum:f=2,m=6,coordmedian"): a
    /// part that is a bare name=value option belongs to the method before it.
    /// </summary>
    public static IReadOnlyList<string> SplitList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var methods = new List<string>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (methods.Count > 0 && part.Contains('=', StringComparison.Ordinal) && !part.Contains(':', StringComparison.Ordinal))
            {
                methods[^1] += "," + part;
            }
            else
            {
                methods.Add(part);
            }
        }
        return methods;
    }

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
            "bulyan" => new Bulyan(WholeNumber(ParseOptions(options, text, "f")["f"], "f", text) ?? 1),
            "centredclip" or "centeredclip" => ParseClipping(options, text),
            "fedavgm" => ParseMomentum(options, text),
            _ => throw new MergeException($"unknown merge method '{text}'; use one of: {Help}"),
        };
    }

    private static CentredClipping ParseClipping(string? options, string text)
    {
        var values = ParseOptions(options, text, "tau", "l");
        return new CentredClipping(values["tau"], WholeNumber(values["l"], "l", text) ?? 3);
    }

    private static int? WholeNumber(double? value, string name, string text) =>
        value is not { } v ? null
        : v == Math.Floor(v) && Math.Abs(v) <= 1000 ? (int)v
        : throw new MergeException($"merge method '{text}': {name} must be a whole number up to 1000");

    /// <summary>Options written name=value, separated by commas; each name at most once, only those allowed.</summary>
    private static Dictionary<string, double?> ParseOptions(string? options, string text, params string[] allowed)
    {
        var values = allowed.ToDictionary(a => a, _ => (double?)null);
        foreach (string option in (options ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = option.Split('=', 2);
            if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            {
                throw new MergeException($"merge method '{text}': option '{option}' should look like {allowed[0]}=1");
            }
            if (!values.TryGetValue(kv[0], out var seen))
            {
                throw new MergeException($"merge method '{text}': unknown option '{kv[0]}' (it takes {string.Join(" and ", allowed)})");
            }
            if (seen is not null)
            {
                throw new MergeException($"merge method '{text}': option '{kv[0]}' is given twice");
            }
            values[kv[0]] = value;
        }
        return values;
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
