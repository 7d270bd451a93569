using ScottPlot;

namespace SwarmLearning.Cli.Simulate;

/// <summary>Draws the report as a PNG: test accuracy of each swarm, the nodes alone and the pooled model.</summary>
internal static class SimulateChart
{
    public static void Save(SimulateReport report, string path)
    {
        if (report.Swarms.Any(s => s.Attack != "none"))
        {
            SaveAttackTable(report, path);
            return;
        }
        var plot = new Plot();
        var bars = new List<(string Label, double Value, Color Color)>();
        bars.AddRange(report.Swarms.Select(s => ($"swarm ({s.MergeMethod})", s.Accuracy * 100, Colors.SteelBlue)));
        if (report.AloneAccuracy is { Count: > 0 } alone)
        {
            bars.Add(("nodes alone (mean)", alone.Average() * 100, Colors.Gray));
            bars.Add(("best node alone", alone.Max() * 100, Colors.DarkGray));
        }
        if (report.CentralAccuracy is double central)
        {
            bars.Add(("central (pooled data)", central * 100, Colors.SeaGreen));
        }
        for (int i = 0; i < bars.Count; i++)
        {
            var bar = plot.Add.Bar(position: i, value: bars[i].Value);
            bar.Color = bars[i].Color;
            var label = plot.Add.Text($"{bars[i].Value:F1}", i, bars[i].Value + 1);
            label.Alignment = Alignment.LowerCenter;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, bars.Count).Select(i => (double)i)], [.. bars.Select(b => b.Label)]);
        plot.Axes.SetLimitsY(0, 105);
        plot.YLabel("test accuracy (%)");
        plot.Title($"Fashion-MNIST, {report.Model}, {report.Nodes} nodes, {report.Partition}, {report.Epochs} epochs");
        plot.SavePng(path, 200 + 150 * bars.Count, 500);
    }

    /// <summary>The attack table as grouped bars: one group per attack, one bar (colour) per merge method.</summary>
    private static void SaveAttackTable(SimulateReport report, string path)
    {
        var plot = new Plot();
        var attacks = report.Swarms.Select(s => s.Attack).Distinct().ToList();
        var methods = report.Swarms.Select(s => s.MergeMethod).Distinct().ToList();
        var palette = new ScottPlot.Palettes.Category10();
        for (int m = 0; m < methods.Count; m++)
        {
            var bars = new List<Bar>();
            for (int a = 0; a < attacks.Count; a++)
            {
                if (report.Swarms.FirstOrDefault(s => s.MergeMethod == methods[m] && s.Attack == attacks[a]) is { } run)
                {
                    double position = a * (methods.Count + 1) + m;
                    bars.Add(new Bar { Position = position, Value = run.Accuracy * 100, FillColor = palette.GetColor(m) });
                    var label = plot.Add.Text($"{run.Accuracy * 100:F0}", position, run.Accuracy * 100 + 1);
                    label.Alignment = Alignment.LowerCenter;
                    label.LabelFontSize = 10;
                }
            }
            plot.Add.Bars(bars).LegendText = methods[m];
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, attacks.Count).Select(a => a * (methods.Count + 1) + (methods.Count - 1) / 2.0)], [.. attacks]);
        plot.Axes.SetLimitsY(0, 110);
        plot.YLabel("test accuracy (%)");
        plot.ShowLegend(Edge.Right);
        plot.Title($"Fashion-MNIST under attack: {report.Model}, {report.Nodes} nodes, {report.Partition}, {report.Epochs} epochs");
        plot.SavePng(path, 300 + 60 * attacks.Count * (methods.Count + 1), 520);
    }
}
