using System.Collections.Concurrent;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SwarmLearning.Cli.Up;

/// <summary>
/// `swarm up`'s view of the training: on a terminal, one line per node updated in place (epoch bar, round, last
/// validation accuracy, a mark on the leader of the last merge) and the latest merges below; otherwise plain lines.
/// </summary>
internal sealed class UpDisplay(IAnsiConsole console, int epochs)
{
    private readonly ConcurrentDictionary<string, NodeState> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _merges = new();
    private readonly ConcurrentQueue<string> _problems = new(); // kept apart so merges do not push them out of view
    private volatile string? _leader;

    private bool Interactive => console.Profile.Capabilities.Interactive;

    public void Add(string node) => _nodes[node] = new NodeState();

    public void Epoch(string node, int done, long round, string accuracy)
    {
        Update(node, s => s with { Epochs = done, Round = round, Accuracy = accuracy });
        Plain($"  [blue]{node}[/] epoch {done}/{epochs}, round {round}, validation accuracy {accuracy}");
    }

    public void Synced(string node, long round) => Update(node, s => s with { Round = Math.Max(s.Round, round) });

    public void Validated(string node, int done, double accuracy) =>
        Update(node, s => s with { Epochs = Math.Max(s.Epochs, done), Accuracy = accuracy.ToString("P1", CultureInfo.InvariantCulture) });

    public void Finished(string node, long round) => Update(node, s => s with { Round = round, Done = true, Epochs = epochs });

    public void Merged(string leader, long round, string hash, string note)
    {
        _leader = leader;
        string line = $"round {round} merged by {leader}: {hash} ({note})";
        _merges.Enqueue(line);
        while (_merges.Count > 5)
        {
            _merges.TryDequeue(out _);
        }
        Plain($"  [green]round {round}[/] merged by [bold]{Markup.Escape(leader)}[/]: {hash} ({Markup.Escape(note)})");
    }

    public void Problem(string node, string line)
    {
        _problems.Enqueue($"{node}: {line}");
        while (_problems.Count > 3)
        {
            _problems.TryDequeue(out _);
        }
        Plain($"  [red]{Markup.Escape(node)}[/] {Markup.Escape(line)}");
    }

    /// <summary>Shows the live view until <paramref name="done"/> completes (on a terminal; otherwise lines are printed as they come).</summary>
    public async Task ShowAsync(Task done)
    {
        if (!Interactive)
        {
            await done;
            return;
        }
        await console.Live(Render()).AutoClear(false).StartAsync(async context =>
        {
            while (!done.IsCompleted)
            {
                context.UpdateTarget(Render());
                await Task.WhenAny(done, Task.Delay(250));
            }
            context.UpdateTarget(Render());
        });
        await done;
    }

    private IRenderable Render()
    {
        var grid = new Grid().AddColumns(5);
        foreach (var (name, s) in _nodes.OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            int filled = epochs == 0 ? 0 : Math.Clamp(s.Epochs * 20 / epochs, 0, 20);
            string bar = $"[green]{new string('━', filled)}[/][grey]{new string('━', 20 - filled)}[/] {s.Epochs}/{epochs} epochs";
            grid.AddRow(
                new Markup($"[blue]{Markup.Escape(name)}[/]"), new Markup(bar), new Markup($"round {s.Round}"), new Markup($"val. acc. {Markup.Escape(s.Accuracy)}"),
                new Markup(s.Done ? "[green]done[/]" : name == _leader ? "[yellow]◆ led the last merge[/]" : ""));
        }
        var merges = new Rows(_merges.Select(m => new Markup(Markup.Escape(m), new Style(Color.Grey)))
            .Concat(_problems.Select(p => new Markup(Markup.Escape(p), new Style(Color.Red)))));
        return new Rows(grid, new Panel(merges).Header("merges").Border(BoxBorder.Rounded));
    }

    private void Update(string node, Func<NodeState, NodeState> change) => _nodes.AddOrUpdate(node, _ => change(new NodeState()), (_, s) => change(s));

    private void Plain(string markup)
    {
        if (!Interactive)
        {
            console.MarkupLine(markup);
        }
    }

    private sealed record NodeState(int Epochs = 0, long Round = 0, string Accuracy = "-", bool Done = false);
}
