using System.Collections.Concurrent;
using System.Globalization;
using Spectre.Console;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Cli.Demo;

/// <summary>Shows a swarm's progress: a live table on a terminal, plain lines otherwise (CI, pipes).</summary>
internal sealed class DemoDisplay(IAnsiConsole console)
{
    private readonly ConcurrentQueue<string> _events = new();

    public void Event(string text)
    {
        _events.Enqueue($"{DateTime.Now:HH:mm:ss} {text}");
        while (_events.Count > 8)
        {
            _events.TryDequeue(out _);
        }
        if (!console.Profile.Capabilities.Interactive)
        {
            console.WriteLine($"  {text}");
        }
    }

    public async Task ShowAsync(Func<IReadOnlyList<NodeProgress>> progress, Func<bool> done, CancellationToken cancellationToken)
    {
        if (!console.Profile.Capabilities.Interactive)
        {
            while (!done())
            {
                await Task.Delay(100, cancellationToken);
            }
            return;
        }
        await console.Live(new Rows()).StartAsync(async context =>
        {
            while (!done())
            {
                context.UpdateTarget(Render(progress()));
                await Task.Delay(200, cancellationToken);
            }
            context.UpdateTarget(Render(progress()));
        });
    }

    private Rows Render(IReadOnlyList<NodeProgress> nodes)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]swarm[/]");
        table.AddColumns("node", "epoch", "round", "val. loss", "val. accuracy", "state");
        foreach (var p in nodes)
        {
            table.AddRow(p.NodeId, $"{p.Epoch}/{p.TotalEpochs}", p.Round.ToString(CultureInfo.InvariantCulture),
                p.Evaluation?.Loss.ToString("F3", CultureInfo.InvariantCulture) ?? "-",
                p.Evaluation?.Metric.ToString("P1", CultureInfo.InvariantCulture) ?? "-",
                p.Done ? "[green]done[/]" : "training");
        }
        var log = new Rows(_events.Select(e => new Markup(Markup.Escape(e), new Style(Color.Grey))));
        return new Rows(table, new Panel(log).Header("ledger").Border(BoxBorder.Rounded));
    }

    public void Report(DemoReport report, string outputDirectory)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]accuracy on the held-out test set after {report.Epochs} epochs[/]");
        table.AddColumns("model", "accuracy");
        table.AddRow("[bold]swarm[/] (every node's final model)", $"[bold]{report.SwarmAccuracy:P1}[/]");
        for (int i = 0; i < report.AloneAccuracy.Count; i++)
        {
            table.AddRow($"node{i + 1} alone, on its own data", $"{report.AloneAccuracy[i]:P1}");
        }
        table.AddRow("average node alone", $"{report.AloneAccuracy.Average():P1}");
        table.AddRow("central: all data pooled in one place", $"{report.CentralAccuracy:P1}");
        console.Write(table);
        var leaders = report.Merges.GroupBy(m => m.Leader).Select(g => $"{(g.Key.Length == 0 ? "(no merge needed)" : g.Key)} x{g.Count()}");
        console.MarkupLine($"ledger: {report.Rounds} rounds merged; leaders: {Markup.Escape(string.Join(", ", leaders))}");
        console.MarkupLine(report.AllNodesHoldTheSameFinalModel
            ? $"every node holds the same final model: [green]{report.FinalModel[..12]}[/] (sha-256 of its safetensors file)"
            : "[red]the nodes' final models differ[/]");
        console.MarkupLine($"report: {Markup.Escape(Path.Combine(outputDirectory, "report.json"))}, node logs: {Markup.Escape(Path.Combine(outputDirectory, "demo.log"))}");
    }
}
