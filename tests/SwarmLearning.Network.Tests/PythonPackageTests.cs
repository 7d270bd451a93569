using System.Diagnostics;
using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>The Python package's own unit tests (python/tests), run with Debian's python3 so CI runs them with the rest.</summary>
public sealed class PythonPackageTests
{
    [Fact]
    public async Task The_python_packages_unit_tests_pass()
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(SwarmProcess.RepositoryRoot, "python", "tests") };
        foreach (string argument in new[] { "-m", "unittest", "discover", "-s", ".", "-v" })
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        string all = await output + await errors;
        Assert.True(process.ExitCode == 0, all);
        Assert.Contains("OK", all, StringComparison.Ordinal);
    }
}
