namespace SwarmLearning.Cli;

/// <summary>Where components keep their state unless told otherwise: $SWARM_HOME, or ~/.swarm.</summary>
internal static class SwarmHome
{
    public static string Root => Environment.GetEnvironmentVariable("SWARM_HOME") is { Length: > 0 } home
        ? home
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".swarm");

    public static string Of(string component) => Path.Combine(Root, component);
}
