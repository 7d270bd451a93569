using System.Text.Json;
using Spectre.Console.Testing;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Cli.Simulate;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Tests;

public sealed class SimulateTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("simulate-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    [Theory]
    [InlineData(2, 3, "cnn", "mean", "iid", "--min-peers is 3 but there are 2 nodes")]
    [InlineData(3, 3, "resnet", "mean", "iid", "unknown model 'resnet'; use one of: mlp, cnn, lstm")]
    [InlineData(3, 3, "cnn", "median", "iid", "unknown merge method 'median'")]
    [InlineData(3, 3, "cnn", "mean", "dirichlet", "needs a positive alpha")]
    [InlineData(6, 6, "cnn", "bulyan:f=1", "iid", "merge method 'bulyan:f=1' assumes at most f=1 bad models of n >= 4f+3 = 7, but a round may merge only 6 models")]
    public void Options_that_cannot_work_are_refused_with_what_to_change(int nodes, int minPeers, string model, string merge, string partition, string message)
    {
        var options = new SimulateOptions { Nodes = nodes, MinPeers = minPeers, Model = model, MergeMethods = [merge], Partition = partition };
        Assert.Contains(message, Assert.ThrowsAny<SwarmException>(options.Validate).Message);
    }

    [Fact]
    public void Attacks_and_privacy_settings_that_cannot_work_are_refused()
    {
        Assert.Contains("cannot be combined", Assert.ThrowsAny<SwarmException>(new SimulateOptions { DpClip = 1, DpNoise = 1, Attacks = [Protocol.Attacks.Attack.Parse("gaussian:1")] }.Validate).Message);
        Assert.Contains("needs at least 2 attackers", Assert.ThrowsAny<SwarmException>(new SimulateOptions { Attacks = [Protocol.Attacks.Attack.Parse("little-is-enough:1")] }.Validate).Message);
        Assert.Contains("leave at least one honest node", Assert.ThrowsAny<SwarmException>(new SimulateOptions { Nodes = 2, Attacks = [Protocol.Attacks.Attack.Parse("gaussian:2")] }.Validate).Message);
        Assert.Contains("needs --dp-clip", Assert.ThrowsAny<SwarmException>(new SimulateOptions { DpEpsilon = 3 }.Validate).Message);
        Assert.Contains("either --dp-noise", Assert.ThrowsAny<SwarmException>(new SimulateOptions { DpClip = 1, DpEpsilon = 3, DpNoise = 1 }.Validate).Message);
    }

    [Fact]
    public async Task Attackers_are_named_in_the_report_and_a_private_run_reports_what_each_node_spent()
    {
        var attacked = new SimulateOptions
        {
            Nodes = 3, Model = "mlp", Partition = "iid", Epochs = 1, SyncFrequency = 4, TrainLimit = 900, MergeMethods = ["mean", "coordmedian"],
            Attacks = [Protocol.Attacks.Attack.Parse("signflip:1")], Baselines = false, OutputDirectory = Path.Combine(_output, "attack"),
        };
        var report = await new SimulateRunner(attacked, new DemoDisplay(new TestConsole())).RunAsync("test", CancellationToken.None);
        Assert.All(report.Swarms, s => Assert.Equal(("signflip:1", "node03"), (s.Attack, s.Attackers!.Single())));
        Assert.Equal(["mean", "coordmedian"], report.Swarms.Select(s => s.MergeMethod));

        var private_ = attacked with { MergeMethods = ["mean"], Attacks = [Protocol.Attacks.Attack.None], DpClip = 1, DpEpsilon = 8, OutputDirectory = Path.Combine(_output, "dp") };
        var run = (await new SimulateRunner(private_, new DemoDisplay(new TestConsole())).RunAsync("test", CancellationToken.None)).Swarms.Single();
        Assert.NotNull(run.Privacy);
        Assert.Equal(["node01", "node02", "node03"], run.Privacy!.EpsilonByNode.Keys.Order());
        // Each node spends at most the budget the noise was chosen for (the last check-in counts only if trained since the last sync).
        Assert.All(run.Privacy.EpsilonByNode.Values, e => Assert.InRange(e!.Value, 1, 8.0));
        var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_output, "dp", "report.json")));
        Assert.True(json.RootElement.GetProperty("swarms")[0].GetProperty("privacy").GetProperty("epsilonByNode").GetProperty("node01").GetDouble() > 1);
    }

    [Fact]
    public async Task A_missing_data_set_stops_the_run_with_the_install_command()
    {
        var options = new SimulateOptions { Nodes = 2, DataDirectory = Path.Combine(_output, "nothing"), OutputDirectory = _output };
        var error = await Assert.ThrowsAsync<SwarmException>(() => new SimulateRunner(options, new DemoDisplay(new TestConsole())).RunAsync("test", CancellationToken.None));
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message);
    }

    [Fact]
    public async Task A_small_simulation_writes_its_report_and_chart()
    {
        var options = new SimulateOptions
        {
            Nodes = 2, Model = "mlp", Partition = "iid", Epochs = 1, SyncFrequency = 4, TrainLimit = 1200, MergeMethods = ["mean", "geomedian"], OutputDirectory = _output,
        };
        var report = await new SimulateRunner(options, new DemoDisplay(new TestConsole())).RunAsync("test", CancellationToken.None);

        Assert.Equal(["mean", "geomedian"], report.Swarms.Select(s => s.MergeMethod));
        Assert.All(report.Swarms, s => Assert.True(s.SameFinalModelEverywhere && s.Accuracy > 0.3, $"{s.MergeMethod}: {s.Accuracy}"));
        Assert.Equal(2, report.AloneAccuracy!.Count);
        Assert.NotNull(report.CentralAccuracy);
        var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_output, "report.json")));
        Assert.Equal(2, json.RootElement.GetProperty("swarms").GetArrayLength());
        var png = await File.ReadAllBytesAsync(Path.Combine(_output, "report.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }
}
