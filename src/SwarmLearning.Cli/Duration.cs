using SwarmLearning.Core;

namespace SwarmLearning.Cli;

/// <summary>Reads durations as operators write them: 90s, 30m, 1h, 7d (or a plain number of seconds; at most a million of the unit).</summary>
internal static class Duration
{
    public static TimeSpan Parse(string text, string option)
    {
        text = text.Trim();
        if (text.Length > 0 && double.TryParse(text.TrimEnd('s', 'm', 'h', 'd'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
            && value > 0 && value <= 1e6)
        {
            return text[^1] switch
            {
                'm' => TimeSpan.FromMinutes(value),
                'h' => TimeSpan.FromHours(value),
                'd' => TimeSpan.FromDays(value),
                _ => TimeSpan.FromSeconds(value),
            };
        }
        throw new SwarmException($"{option} '{text}' is not a duration: write it like 90s, 30m, 1h or 7d");
    }
}
