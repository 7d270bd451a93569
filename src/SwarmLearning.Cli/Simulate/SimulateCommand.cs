using System.CommandLine;
using Spectre.Console;
using SwarmLearning.Cli.Demo;
using SwarmLearning.Core;
using SwarmLearning.Protocol.Attacks;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using SwarmLearning.TorchSharp.Models;

namespace SwarmLearning.Cli.Simulate;

/// <summary>Parses `swarm simulate` and prints its report.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var defaults = new SimulateOptions();
        var nodes = new Option<int>("--nodes") { Description = "number of Swarm Learning nodes", DefaultValueFactory = _ => defaults.Nodes };
        var minPeers = new Option<int?>("--min-peers") { Description = "quorum at each sync (default: every node)" };
        var merge = new Option<string>("--merge") { Description = $"merge method, or several separated by commas to compare them: {Core.Merging.MergeMethods.Help}", DefaultValueFactory = _ => "mean" };
        var attack = new Option<string>("--attack") { Description = $"Byzantine nodes (the last COUNT nodes), or several separated by commas to compare them against every merge: {Attack.Help}", DefaultValueFactory = _ => "none" };
        var model = new Option<string>("--model") { Description = $"network: {ModelZoo.Help}", DefaultValueFactory = _ => defaults.Model };
        var partition = new Option<string>("--partition") { Description = $"how the training data is split: {Partitioner.Help}", DefaultValueFactory = _ => defaults.Partition };
        var epochs = new Option<int>("--epochs") { Description = "epochs each node trains (the baselines train as many)", DefaultValueFactory = _ => defaults.Epochs };
        var syncFrequency = new Option<int>("--sync-frequency") { Description = "local batches between syncs", DefaultValueFactory = _ => defaults.SyncFrequency };
        var batchSize = new Option<int>("--batch-size") { DefaultValueFactory = _ => defaults.BatchSize, Description = "images per batch" };
        var learningRate = new Option<double>("--lr") { DefaultValueFactory = _ => defaults.LearningRate, Description = "the nodes' (and baselines') learning rate" };
        var optimizer = new Option<string>("--optimizer") { DefaultValueFactory = _ => defaults.Optimizer, Description = $"optimizer on every node and baseline: {TrainingRecipe.OptimizerHelp}" };
        var schedule = new Option<string>("--lr-schedule") { DefaultValueFactory = _ => defaults.Schedule, Description = $"learning-rate schedule over the run: {TrainingRecipe.ScheduleHelp}" };
        var trainLimit = new Option<int>("--train-limit") { Description = "use only the first N training images (quick runs); 0 uses all 60,000" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => defaults.Seed, Description = "seed for the split, the networks and the batches" };
        var noBaselines = new Option<bool>("--no-baselines") { Description = "skip training each node alone and the pooled model" };
        var trainEnd = new Option<TrainEndPolicy>("--train-end") { DefaultValueFactory = _ => defaults.TrainEnd, Description = "checkinModelOnTrainEnd for nodes that finish early" };
        var ownEpochs = new Option<bool>("--own-epochs") { Description = "each node's epoch is a pass over its own data (HPE's callback semantics) rather than the average share's number of batches" };
        var resetOptimizer = new Option<bool>("--reset-optimizer") { Description = "start each node's Adam afresh after every merge" };
        var proximal = new Option<double>("--prox") { Description = "FedProx's mu: pull each node's local steps toward the last merged model (0: off; try 0.01)" };
        var scaffold = new Option<bool>("--scaffold") { Description = "SCAFFOLD: correct each node's gradients by the swarm's average gradient minus its own (control variates carried in the parameter files)" };
        var logitAdjust = new Option<bool>("--logit-adjust") { Description = "balanced softmax on the nodes: train on logits + log(own label frequencies), against label skew" };
        var dpClip = new Option<double>("--dp-clip") { Description = "differential privacy: clip each node's update (model minus last merged model) to this L2 norm before check-in (0: off)" };
        var dpNoise = new Option<double>("--dp-noise") { Description = "differential privacy: Gaussian noise standard deviation, in units of --dp-clip (sigma)" };
        var dpEpsilon = new Option<double>("--dp-epsilon") { Description = "differential privacy: instead of --dp-noise, the budget each node may spend over the run; sigma is computed from the expected check-ins" };
        var dpDelta = new Option<double>("--dp-delta") { Description = "differential privacy: delta of the reported (epsilon, delta)", DefaultValueFactory = _ => defaults.DpDelta };
        var dataDir = new Option<string>("--data-dir") { DefaultValueFactory = _ => defaults.DataDirectory, Description = "where the Fashion-MNIST IDX files are" };
        var auditors = new Option<string>("--auditors") { Description = "nodes drawn to recompute every merge (0: verification off), or several separated by commas to compare them (e.g. 0,1)", DefaultValueFactory = _ => "1" };
        var cutLink = new Option<string?>("--cut-link") { Description = "cut the link between two nodes for the whole run (e.g. node01:node02): neither can fetch the other's files" };
        var slowNode = new Option<string?>("--slow-node") { Description = "every file a node serves arrives late, e.g. node03:2s (a slow link)" };
        var runLimit = new Option<string?>("--run-limit") { Description = "stop a swarm run that has not finished after this long (e.g. 20m) and report it as stalled, with the accuracy node01 holds then" };
        var output = new Option<string>("--output") { DefaultValueFactory = _ => defaults.OutputDirectory, Description = "folder for report.json, report.png and simulate.log" };
        var command = new Command("simulate", "train a swarm on Fashion-MNIST in this process (real protocol, in-memory ledger and transport) and compare it with each node alone and with all data pooled")
        {
            nodes, minPeers, merge, attack, model, partition, epochs, syncFrequency, batchSize, learningRate, optimizer, schedule, trainLimit, seed, noBaselines, trainEnd, ownEpochs, resetOptimizer, proximal, scaffold, logitAdjust, dpClip, dpNoise, dpEpsilon, dpDelta, dataDir, output, runLimit, auditors, cutLink, slowNode,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var display = new DemoDisplay(AnsiConsole.Console);
            try
            {
                var options = new SimulateOptions
                {
                    Nodes = parse.GetValue(nodes), MinPeers = parse.GetValue(minPeers),
                    MergeMethods = Core.Merging.MergeMethods.SplitList(parse.GetValue(merge)!),
                    Model = parse.GetValue(model)!, Partition = parse.GetValue(partition)!, Epochs = parse.GetValue(epochs),
                    SyncFrequency = parse.GetValue(syncFrequency), BatchSize = parse.GetValue(batchSize), LearningRate = parse.GetValue(learningRate),
                    Optimizer = parse.GetValue(optimizer)!.Trim().ToLowerInvariant(), Schedule = parse.GetValue(schedule)!.Trim().ToLowerInvariant(),
                    TrainLimit = parse.GetValue(trainLimit), Seed = parse.GetValue(seed), Baselines = !parse.GetValue(noBaselines),
                    TrainEnd = parse.GetValue(trainEnd), EqualSteps = !parse.GetValue(ownEpochs), ResetOptimizer = parse.GetValue(resetOptimizer), Proximal = parse.GetValue(proximal), ControlVariates = parse.GetValue(scaffold), LogitAdjust = parse.GetValue(logitAdjust),
                    DataDirectory = parse.GetValue(dataDir)!, OutputDirectory = parse.GetValue(output)!,
                    DpClip = parse.GetValue(dpClip), DpNoise = parse.GetValue(dpNoise), DpEpsilon = parse.GetValue(dpEpsilon), DpDelta = parse.GetValue(dpDelta),
                    Auditors = [.. parse.GetValue(auditors)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(a =>
                        int.TryParse(a, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n
                        : throw new SwarmException($"--auditors '{a}' is not a whole number (0 turns verification off)"))],
                    CutLink = parse.GetValue(cutLink) is { } cut ? Pair(cut, "--cut-link") : null,
                    SlowNode = parse.GetValue(slowNode) is { } slow ? SlowPair(slow) : null,
                    RunLimit = parse.GetValue(runLimit) is { } limit ? Duration.Parse(limit, "--run-limit") : null,
                    Attacks = [.. parse.GetValue(attack)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Attack.Parse)],
                };
                var report = await new SimulateRunner(options, display).RunAsync("swarm " + string.Join(' ', parse.Tokens.Select(t => t.Value)), cancellationToken);
                Print(report, options.OutputDirectory);
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

    private static (string, TimeSpan) SlowPair(string text)
    {
        var (node, delay) = Pair(text, "--slow-node");
        return (node, Duration.Parse(delay, "--slow-node"));
    }

    private static (string, string) Pair(string text, string option) =>
        text.Split(':', 2) is [var a, var b] && a.Length > 0 && b.Length > 0 ? (a, b) : throw new SwarmException($"{option} '{text}' should look like node01:node02 (or node03:2s)");

    /// <summary>" caught a/b" when attackers published under verification, and the honest nodes marked, if any.</summary>
    private static string Caught(SwarmRun run) =>
        run.Verification is not { } v || run.Auditors == 0 ? ""
        : (v.AttackerPublications > 0 ? $" caught {v.AttackerPublicationsRejected}/{v.AttackerPublications}" : "")
          + (v.HonestMarked.Count > 0 ? $" [red]![[{v.HonestMarked.Count}]][/]" : "");

    private static void Print(SimulateReport report, string outputDirectory)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]Fashion-MNIST test accuracy ({report.TestImages} images), {Markup.Escape(report.Model)}, {report.Nodes} nodes, {Markup.Escape(report.Partition)}, {report.Epochs} epochs[/]");
        table.AddColumns("model", "accuracy", "detail");
        foreach (var swarm in report.Swarms)
        {
            string attack = (swarm.Auditors == 0 ? ", verification off" : "") + (swarm.Attack == "none" ? "" : $", under {Markup.Escape(swarm.Attack)}");
            if (swarm.Privacy is { } dp)
            {
                attack += FormattableString.Invariant($", DP sigma {dp.NoiseMultiplier:g3}, epsilon {dp.EpsilonByNode.Values.Max() ?? 0:F2}");
            }
            table.AddRow($"[bold]swarm, {Markup.Escape(swarm.MergeMethod)}{attack}[/]", $"[bold]{swarm.Accuracy:P2}[/]",
                $"{swarm.Rounds} merges, {swarm.Seconds / 60:F1} min, {(!swarm.Finished ? "[red]stalled: stopped at the run limit[/]" : swarm.SameFinalModelEverywhere ? "same final model on every node" : "[red]final models differ[/]")}");
        }
        if (report.AloneAccuracy is { } alone)
        {
            for (int i = 0; i < alone.Count; i++)
            {
                table.AddRow($"node{i + 1:00} alone", $"{alone[i]:P2}", $"{report.NodeImages[i]} images");
            }
            table.AddRow("average node alone", $"{alone.Average():P2}", "");
        }
        if (report.CentralAccuracy is double central)
        {
            table.AddRow("central (all data pooled)", $"{central:P2}", $"{report.TrainImages} images");
        }
        AnsiConsole.Write(table);
        if (report.Swarms.Any(s => s.Attack != "none"))
        {
            var attacks = report.Swarms.Select(s => s.Attack).Distinct().ToList();
            var grid = new Table().Border(TableBorder.Rounded).Title("[bold]test accuracy of each merge (rows) under each attack (columns)[/]");
            grid.AddColumns(["merge", .. attacks.Select(Markup.Escape)]);
            foreach (var (method, auditors) in report.Swarms.Select(s => (s.MergeMethod, s.Auditors)).Distinct())
            {
                string row = $"{method}, {(auditors == 0 ? "verification off" : $"{auditors} auditor(s)")}";
                grid.AddRow([Markup.Escape(row), .. attacks.Select(a => report.Swarms.FirstOrDefault(s => s.MergeMethod == method && s.Auditors == auditors && s.Attack == a) is { } run
                    ? $"{run.Accuracy:P1}{(run.Finished ? "" : " (stalled)")}{Caught(run)}" : "-")]);
            }
            AnsiConsole.Write(grid);
            AnsiConsole.MarkupLine("[dim]caught a/b: of the b publications by attackers, a were rejected in their round; ![[n]]: honest nodes marked Byzantine (should never happen)[/]");
        }
        AnsiConsole.MarkupLine($"report: {Markup.Escape(Path.Combine(outputDirectory, "report.json"))}, chart: {Markup.Escape(Path.Combine(outputDirectory, "report.png"))}, log: {Markup.Escape(Path.Combine(outputDirectory, "simulate.log"))}");
    }
}
