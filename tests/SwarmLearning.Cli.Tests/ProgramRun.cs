using System.Diagnostics;

namespace SwarmLearning.Cli.Tests;

/// <summary>Runs a program to its end (killed, with everything it started, past a limit), its output and errors together.</summary>
internal static class ProgramRun
{
    public static (int ExitCode, string Output) Run(TimeSpan limit, IReadOnlyDictionary<string, string>? environment, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
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
