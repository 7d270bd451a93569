namespace SwarmLearning.Cli;

/// <summary>
/// How to start this very `swarm` again: the single-file binary of a release (deploy/pack.sh), or `dotnet swarm.dll`
/// in a clone. Programs shipped beside it in a release (the examples) are found in the same folder.
/// </summary>
internal static class SwarmExecutable
{
    /// <summary>This build's version, as `swarm --version` prints it (VERSION, plus the commit).</summary>
    public static string Version =>
        typeof(SwarmExecutable).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    /// <summary>The executable and the arguments that come before swarm's own.</summary>
    public static (string File, string[] Prefix) Command()
    {
        string process = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? (process, [Path.Combine(AppContext.BaseDirectory, "swarm.dll")])
            : (process, []);
    }

    /// <summary>A program published beside this binary in a release (e.g. fashion-mnist), or null in a clone.</summary>
    public static string? Beside(string program)
    {
        string path = Path.Combine(AppContext.BaseDirectory, program);
        return Path.GetFileNameWithoutExtension(Environment.ProcessPath) != "dotnet" && File.Exists(path) ? path : null;
    }
}
