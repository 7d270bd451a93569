using System.CommandLine;
using Spectre.Console;

namespace SwarmLearning.Cli.Up;

/// <summary>`swarm up`: the whole swarm on this machine, in one command.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var nodes = new Option<int>("--nodes") { Description = "Swarm Learning nodes", DefaultValueFactory = _ => 3 };
        var epochs = new Option<int>("--epochs") { Description = "epochs each node trains", DefaultValueFactory = _ => 5 };
        var images = new Option<int>("--images-per-node") { Description = "training images per node, a sample of its share (0: its whole share of the 60,000)", DefaultValueFactory = _ => 3000 };
        var test = new Option<int>("--test-images") { Description = "test images for the final comparison (0: all 10,000)", DefaultValueFactory = _ => 0 };
        var sync = new Option<int>("--sync-frequency") { Description = "local batches between syncs", DefaultValueFactory = _ => 10 };
        var partition = new Option<string>("--partition") { Description = "how the data is split: iid, dirichlet:ALPHA (label skew), quantity:ALPHA", DefaultValueFactory = _ => "dirichlet:0.5" };
        var minPeers = new Option<int?>("--min-peers") { Description = "quorum at each sync (default: every node)" };
        var seed = new Option<int>("--seed") { Description = "seed of the split and the networks (the same seed in `swarm simulate` gives the same split)", DefaultValueFactory = _ => 1 };
        var merge = new Option<string>("--merge") { Description = $"merge method: {Core.Merging.MergeMethods.Help}", DefaultValueFactory = _ => "mean" };
        var auditors = new Option<int>("--auditors") { Description = "nodes drawn to recompute every merge (0: verification off; docs/verification.md)", DefaultValueFactory = _ => Protocol.Contract.TrainingParameters.DefaultAuditors };
        var home = new Option<string?>("--home") { Description = "where the swarm's state, logs and report go (default $SWARM_HOME/up)" };
        var command = new Command("up", "run a whole swarm on this machine (licence server, identity server, 3 SNs, SL nodes training Fashion-MNIST), report, and stop it")
        {
            nodes, epochs, images, test, sync, partition, minPeers, seed, merge, auditors, home,
        };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            int count = parse.GetValue(nodes);
            if (count < 2)
            {
                throw new Core.SwarmException("--nodes must be at least 2 (a swarm of one learns nothing from others)");
            }
            TorchSharp.Data.Partitioner.CheckSpecification(parse.GetValue(partition)!);
            Core.Merging.MergeMethods.Parse(parse.GetValue(merge)!);
            int quorum = parse.GetValue(minPeers) ?? count;
            if (quorum < 1 || quorum > count)
            {
                throw new Core.SwarmException($"--min-peers is {quorum} but there are {count} nodes: use a value from 1 to {count}");
            }
            if (parse.GetValue(auditors) is < 0 or > Protocol.Contract.TrainingParameters.MaxAuditors)
            {
                throw new Core.SwarmException($"--auditors must be 0 (verification off) to {Protocol.Contract.TrainingParameters.MaxAuditors}");
            }
            if (parse.GetValue(epochs) < 1 || parse.GetValue(sync) < 1 || parse.GetValue(images) < 0 || parse.GetValue(test) < 0)
            {
                throw new Core.SwarmException("--epochs and --sync-frequency must be positive, --images-per-node and --test-images 0 or more");
            }
            var options = new UpOptions(count, parse.GetValue(epochs), parse.GetValue(images), parse.GetValue(test), parse.GetValue(sync), parse.GetValue(partition)!,
                Path.GetFullPath(parse.GetValue(home) ?? SwarmHome.Of("up")), quorum, parse.GetValue(seed), parse.GetValue(merge)!, parse.GetValue(auditors));
            var runner = new UpRunner(options, AnsiConsole.Console);
            // Ctrl-C always ends `swarm up`: if stopping the components takes more than a minute, what is left is killed.
            using var watchdog = cancellationToken.Register(() => _ = Task.Run(async () =>
            {
                await Task.Delay(UpRunner.StopDeadline);
                try
                {
                    Console.Error.WriteLine($"swarm up: stopping took over {UpRunner.StopDeadline.TotalSeconds:0} s; killing {runner.KillAll()}");
                }
                finally
                {
                    Environment.Exit(130);
                }
            }));
            return await runner.RunAsync(cancellationToken);
        }));
        return command;
    }
}
