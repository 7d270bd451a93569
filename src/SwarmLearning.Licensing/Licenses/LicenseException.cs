namespace SwarmLearning.Licensing.Licenses;

/// <summary>A licence problem, with what to do about it.</summary>
public sealed class LicenseException(string message) : Core.SwarmException(message);
