using System.CommandLine;
using Spectre.Console;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Core;

var root = new RootCommand("swarm: Swarm Learning, decentralized and privacy-preserving machine learning");
root.Subcommands.Add(DemoCommand());
root.Subcommands.Add(SwarmLearning.Cli.Simulate.SimulateCommand.Create());
root.Subcommands.Add(SwarmLearning.Cli.Identity.IdentityCommands.RunServer());
root.Subcommands.Add(SwarmLearning.Cli.Identity.IdentityCommands.Identity());
root.Subcommands.Add(SwarmLearning.Cli.Ledger.LedgerCommands.Create());
root.Subcommands.Add(SwarmLearning.Cli.Network.SnCommand.Create());
root.Subcommands.Add(SwarmLearning.Cli.Node.SlCommand.Create());
root.Subcommands.Add(SwarmLearning.Cli.Licensing.LicenseCommands.RunServer());
root.Subcommands.Add(SwarmLearning.Cli.Licensing.LicenseCommands.License());
root.Subcommands.Add(SwarmLearning.Cli.Up.UpCommand.Create());
root.Subcommands.Add(SwarmLearning.Cli.Swci.SwciCommands.Create());
root.Subcommands.Add(SwarmLearning.Cli.Kits.KitCommand.Create());
root.Subcommands.Add(SwarmLearning.Cli.Dashboard.DashboardCommand.Create());
foreach (var command in SwarmLearning.Cli.Operations.OperationsCommands.Create())
{
    root.Subcommands.Add(command);
}
// Ctrl-C and SIGTERM cancel the command, which then stops what it started (swarm up stops every component; a node
// returns its licence seat): give it up to a minute before the process is ended regardless.
try
{
    args = SwarmLearning.Cli.ConfigFile.Apply(root, args); // --config FILE: its settings become flags (the command line wins)
    args = SwarmLearning.Cli.HpeEnvironment.Apply(root, args); // then HPE's SL_* variables, for options still unset
}
catch (SwarmException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 2;
}
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) });

static Command DemoCommand()
{
    var nodes = new Option<int>("--nodes") { Description = "number of Swarm Learning nodes", DefaultValueFactory = _ => 4 };
    var minPeers = new Option<int>("--min-peers") { Description = "quorum: nodes needed at each sync step", DefaultValueFactory = _ => 2 };
    var merge = new Option<string>("--merge") { Description = $"merge method: {SwarmLearning.Core.Merging.MergeMethods.Help}", DefaultValueFactory = _ => "mean" };
    var epochs = new Option<int>("--epochs") { Description = "epochs each node trains", DefaultValueFactory = _ => 5 };
    var syncFrequency = new Option<int>("--sync-frequency") { Description = "local batches between syncs", DefaultValueFactory = _ => 10 };
    var dropOne = new Option<bool>("--drop-one") { Description = "crash one node halfway and restart it: it rejoins from the latest merged model" };
    var seed = new Option<int>("--seed") { Description = "seed for data and models", DefaultValueFactory = _ => 1 };
    var output = new Option<string>("--output") { Description = "folder for report.json and demo.log", DefaultValueFactory = _ => Path.Combine("out", "demo") };
    var command = new Command("demo", "run a whole swarm in this process on synthetic non-IID data (real protocol, in-memory ledger and transport) and compare it with each node alone and with pooled data")
    {
        nodes, minPeers, merge, epochs, syncFrequency, dropOne, seed, output,
    };
    command.SetAction(async (parse, cancellationToken) =>
    {
        var options = new DemoOptions(parse.GetValue(nodes), parse.GetValue(minPeers), parse.GetValue(merge)!, parse.GetValue(epochs),
            parse.GetValue(syncFrequency), parse.GetValue(dropOne), parse.GetValue(seed), parse.GetValue(output)!);
        var display = new DemoDisplay(AnsiConsole.Console);
        try
        {
            AnsiConsole.MarkupLine($"[bold]swarm demo[/]: {options.Nodes} nodes, minPeers {options.MinPeers}, merge {Markup.Escape(options.MergeMethod)}, {options.Epochs} epochs, label-skewed data");
            var report = await new DemoRunner(options, display).RunAsync(cancellationToken);
            display.Report(report, options.OutputDirectory);
            return 0;
        }
        catch (SwarmException e)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 2;
        }
    });
    return command;
}
