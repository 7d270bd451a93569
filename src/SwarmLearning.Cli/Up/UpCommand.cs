using System.CommandLine;
using Spectre.Console;

namespace SwarmLearning.Cli.Up;

/// <summary>`swarm up`: the whole swarm on this machine, in one command.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var nodes = new Option<int>("--nodes") { Description = "Swarm Learning nodes", DefaultValueFactory = _ => 3 };
        var epochs = new Option<int>("--epochs") { Description = "epochs each node trains", DefaultValueFactory = _ => 3 };
        var images = new Option<int>("--images-per-node") { Description = "training images per node", DefaultValueFactory = _ => 3000 };
        var test = new Option<int>("--test-images") { Description = "test images for the final comparison (0: all 10,000)", DefaultValueFactory = _ => 2000 };
        var sync = new Option<int>("--sync-frequency") { Description = "local batches between syncs", DefaultValueFactory = _ => 10 };
        var partition = new Option<string>("--partition") { Description = "how the data is split: iid, dirichlet:ALPHA (label skew), quantity:ALPHA", DefaultValueFactory = _ => "dirichlet:0.5" };
        var home = new Option<string?>("--home") { Description = "where the swarm's state, logs and report go (default $SWARM_HOME/up)" };
        var command = new Command("up", "run a whole swarm on this machine (licence server, identity server, 3 SNs, SL nodes training Fashion-MNIST), report, and stop it")
        {
            nodes, epochs, images, test, sync, partition, home,
        };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            int count = parse.GetValue(nodes);
            if (count < 2)
            {
                throw new Core.SwarmException("--nodes must be at least 2 (a swarm of one learns nothing from others)");
            }
            TorchSharp.Data.Partitioner.CheckSpecification(parse.GetValue(partition)!);
            var options = new UpOptions(count, parse.GetValue(epochs), parse.GetValue(images), parse.GetValue(test), parse.GetValue(sync), parse.GetValue(partition)!,
                Path.GetFullPath(parse.GetValue(home) ?? SwarmHome.Of("up")));
            return await new UpRunner(options, AnsiConsole.Console).RunAsync(cancellationToken);
        }));
        return command;
    }
}
