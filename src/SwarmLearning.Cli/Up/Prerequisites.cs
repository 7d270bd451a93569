using System.Diagnostics;
using Spectre.Console;
using SwarmLearning.Core;
using SwarmLearning.TorchSharp.Data;

namespace SwarmLearning.Cli.Up;

/// <summary>
/// What `swarm up` needs from the system besides the .NET SDK: Debian's Fashion-MNIST package (every other part, libtorch
/// included, comes from NuGet with the build). As root on Debian it installs it (apt-get update first, as a fresh machine's
/// package lists are empty); otherwise it says the one command to run.
/// </summary>
internal static class Prerequisites
{
    /// <summary>The Debian packages the main job needs.</summary>
    public static IReadOnlyList<string> Packages { get; } = ["dataset-fashion-mnist"];

    /// <summary>The command that installs them.</summary>
    public static string InstallCommand => $"sudo apt-get update && sudo apt-get install -y {string.Join(' ', Packages)}";

    public static void EnsureDataset(IAnsiConsole console)
    {
        if (File.Exists(Path.Combine(FashionMnist.DefaultDirectory, "train-images-idx3-ubyte.gz")))
        {
            return;
        }
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
        {
            throw new SwarmException($"the Fashion-MNIST data set is missing: install it with `{InstallCommand}`");
        }
        console.MarkupLine($"installing {string.Join(", ", Packages)} (apt-get update, then apt-get install)");
        if (!AptGet("update -qq") || !AptGet($"install -y -qq {string.Join(' ', Packages)}"))
        {
            throw new SwarmException($"installing the Fashion-MNIST data set failed (see the apt-get output above); try `{InstallCommand}`");
        }
    }

    private static bool AptGet(string arguments)
    {
        var info = new ProcessStartInfo("/usr/bin/apt-get", arguments);
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var apt = Process.Start(info)!;
        apt.WaitForExit();
        return apt.ExitCode == 0;
    }
}
