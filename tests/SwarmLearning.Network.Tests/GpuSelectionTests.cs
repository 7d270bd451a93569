using SwarmLearning.Core;
using SwarmLearning.Node;

namespace SwarmLearning.Network.Tests;

/// <summary>`--gpu`: which GPUs the ML program sees, and the errors when the host cannot give them.</summary>
public sealed class GpuSelectionTests
{
    [Fact]
    public void Indices_and_all_become_cuda_visible_devices()
    {
        Assert.Equal("0,2", GpuSelection.Resolve("0,2", [0, 1, 2, 3]));
        Assert.Equal("1", GpuSelection.Resolve(" 1 , 1 ", [0, 1]));
        Assert.Equal("0,1,2", GpuSelection.Resolve("all", [0, 1, 2]));
    }

    [Fact]
    public void A_host_without_gpus_or_a_missing_index_is_refused_naming_what_there_is()
    {
        Assert.Contains("this host has no NVIDIA GPU", Assert.Throws<SwarmException>(() => GpuSelection.Resolve("0", [])).Message, StringComparison.Ordinal);
        Assert.Contains("GPU 4 does not exist; this host has GPUs 0, 1", Assert.Throws<SwarmException>(() => GpuSelection.Resolve("0,4", [0, 1])).Message, StringComparison.Ordinal);
        Assert.Contains("'x' is not a GPU index", Assert.Throws<SwarmException>(() => GpuSelection.Resolve("x", [0])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detection_finds_no_gpu_on_a_host_without_one_and_never_throws()
    {
        var found = GpuSelection.Detect();
        Assert.All(found, index => Assert.True(index >= 0));
        if (!File.Exists("/dev/nvidia0"))
        {
            Assert.Empty(found);
        }
    }
}
