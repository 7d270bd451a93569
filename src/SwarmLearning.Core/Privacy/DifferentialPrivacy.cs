using System.Globalization;

namespace SwarmLearning.Core.Privacy;

/// <summary>
/// A contract's differential-privacy settings: every node clips its update (its model minus the last merged model) to
/// L2 norm <see cref="ClipNorm"/> and adds Gaussian noise of standard deviation <see cref="NoiseMultiplier"/> ×
/// <see cref="ClipNorm"/> to every float before checking it in; ε is reported at <see cref="Delta"/>. Every node of a
/// contract must use the same settings.
/// </summary>
/// <param name="ClipNorm">C: the largest L2 norm of an update.</param>
/// <param name="NoiseMultiplier">σ: the noise's standard deviation in units of C.</param>
/// <param name="Delta">δ of the (ε, δ) guarantee; below 1 / (number of nodes) to mean anything.</param>
public sealed record DifferentialPrivacy(double ClipNorm, double NoiseMultiplier, double Delta)
{
    /// <summary>Null when the settings can work, else what is wrong, in one sentence.</summary>
    public string? Problem() =>
        !(ClipNorm > 0 && double.IsFinite(ClipNorm)) ? $"dpClipNorm must be a positive number (got {Text(ClipNorm)})"
        : !(NoiseMultiplier > 0 && NoiseMultiplier <= 1e6) ? $"dpNoiseMultiplier must be positive, at most 1e6 (got {Text(NoiseMultiplier)}); without noise clipping gives no privacy"
        : !(Delta > 0 && Delta < 1) ? $"dpDelta must be between 0 and 1, e.g. 1e-5 (got {Text(Delta)})"
        : null;

    /// <summary>Null when <paramref name="mine"/> equals <paramref name="theirs"/>, else the name of the first setting that differs and both values.</summary>
    public static (string Name, string Mine, string Theirs)? Difference(DifferentialPrivacy? mine, DifferentialPrivacy? theirs) =>
        mine == theirs ? null
        : mine is null || theirs is null ? ("differential privacy", mine is null ? "off" : mine.ToString(), theirs is null ? "off" : theirs.ToString())
        : mine.ClipNorm != theirs.ClipNorm ? ("dpClipNorm", Text(mine.ClipNorm), Text(theirs.ClipNorm))
        : mine.NoiseMultiplier != theirs.NoiseMultiplier ? ("dpNoiseMultiplier", Text(mine.NoiseMultiplier), Text(theirs.NoiseMultiplier))
        : ("dpDelta", Text(mine.Delta), Text(theirs.Delta));

    /// <inheritdoc />
    public override string ToString() => $"clip {Text(ClipNorm)}, noise {Text(NoiseMultiplier)}, delta {Text(Delta)}";

    private static string Text(double value) => value.ToString("g6", CultureInfo.InvariantCulture);
}
