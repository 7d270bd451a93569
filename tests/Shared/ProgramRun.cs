using System.Diagnostics;

namespace SwarmLearning.Testing;

/// <summary>Runs a program to its end (killed, with everything it started, past a limit), its output and errors together.</summary>
internal static class ProgramRun
{
    public static (int ExitCode, string Output) Run(TimeSpan limit, IReadOnlyDictionary<string, string>? environment, string file, params string[] arguments) =>
        RunIn(null, limit, environment, file, arguments);

    /// <summary>As <see cref="Run"/>, in <paramref name="workingDirectory"/>; an environment value of "" removes the variable.</summary>
    public static (int ExitCode, string Output) RunIn(string? workingDirectory, TimeSpan limit, IReadOnlyDictionary<string, string>? environment, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            if (value.Length == 0)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"timed out after {limit}:\n{output.Result}{error.Result}");
        }
        return (process.ExitCode, output.Result + error.Result);
    }
}
