using Spectre.Console;
using Spectre.Console.Testing;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Tests;

public sealed class DemoTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("demo-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Fact]
    public async Task A_swarm_with_a_node_that_crashes_and_rejoins_beats_its_nodes_alone_and_agrees_on_one_final_model()
    {
        var options = new DemoOptions(Nodes: 3, MinPeers: 2, MergeMethod: "mean", Epochs: 3, SyncFrequency: 10, DropOne: true, Seed: 7, _output);
        var console = new TestConsole();
        var report = await new DemoRunner(options, new DemoDisplay(console)).RunAsync(CancellationToken.None);

        Assert.True(report.AllNodesHoldTheSameFinalModel);
        Assert.True(report.SwarmAccuracy > report.AloneAccuracy.Average() + 0.1, $"swarm {report.SwarmAccuracy} vs alone {report.AloneAccuracy.Average()}");
        Assert.Contains("crashed", console.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_output, "report.json")));
        Assert.Contains("behind the swarm", await File.ReadAllTextAsync(Path.Combine(_output, "demo.log")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 3, "mean", false, "--min-peers is 3 but there are 2 nodes")]
    [InlineData(3, 3, "mean", true, "--drop-one takes a node away")]
    [InlineData(3, 2, "average", false, "unknown merge method 'average'")]
    public void Options_that_cannot_work_are_refused_with_what_to_change(int nodes, int minPeers, string merge, bool drop, string message)
    {
        var options = new DemoOptions(nodes, minPeers, merge, 1, 10, drop, 1, _output);
        Assert.Contains(message, Assert.ThrowsAny<SwarmException>(options.Validate).Message);
    }
}
