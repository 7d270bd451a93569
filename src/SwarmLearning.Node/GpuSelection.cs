using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using SwarmLearning.Core;

namespace SwarmLearning.Node;

/// <summary>`--gpu i,j,...|all`: which of the host's NVIDIA GPUs the ML program sees (through CUDA_VISIBLE_DEVICES).</summary>
public static partial class GpuSelection
{
    /// <summary>The CUDA_VISIBLE_DEVICES value for <paramref name="spec"/> on a host with GPUs <paramref name="available"/>.</summary>
    public static string Resolve(string spec, IReadOnlyList<int> available)
    {
        if (available.Count == 0)
        {
            throw new SwarmException($"--gpu {spec}: this host has no NVIDIA GPU (nvidia-smi found none and /dev has no nvidia devices); leave out --gpu to train on the CPU");
        }
        if (string.Equals(spec.Trim(), "all", StringComparison.OrdinalIgnoreCase))
        {
            return string.Join(',', available);
        }
        var chosen = new List<int>();
        foreach (string part in spec.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                throw new SwarmException($"--gpu {spec}: '{part}' is not a GPU index; give indices such as 0,2 or 'all'");
            }
            if (!available.Contains(index))
            {
                throw new SwarmException($"--gpu {spec}: GPU {index} does not exist; this host has GPU{(available.Count > 1 ? "s" : "")} {string.Join(", ", available)}");
            }
            if (!chosen.Contains(index))
            {
                chosen.Add(index);
            }
        }
        return string.Join(',', chosen);
    }

    /// <summary>The host's NVIDIA GPU indices: from nvidia-smi when installed, else the /dev/nvidiaN device files.</summary>
    public static IReadOnlyList<int> Detect()
    {
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "--query-gpu=index --format=csv,noheader") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit(10_000);
            if (process.ExitCode == 0)
            {
                return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(i => int.Parse(i, CultureInfo.InvariantCulture)).Order()];
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no nvidia-smi: look at the device files
        }
        return Directory.Exists("/dev")
            ? [.. Directory.EnumerateFiles("/dev", "nvidia*").Select(f => DeviceFile().Match(Path.GetFileName(f))).Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order()]
            : [];
    }

    [GeneratedRegex(@"^nvidia(\d+)$")]
    private static partial Regex DeviceFile();
}
