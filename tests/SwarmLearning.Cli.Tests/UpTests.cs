using System.Diagnostics;
using System.Text.Json;
using SwarmLearning.Testing;

namespace SwarmLearning.Cli.Tests;

/// <summary>`swarm up`, shortened (1 epoch, 600 images per node): every component a real process, the report, and nothing left behind.</summary>
public sealed class UpTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "swarm-up-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_short_swarm_up_trains_reports_verifies_the_ledger_and_stops_everything()
    {
        var (code, output) = await SwarmProcess.RunAsync(TimeSpan.FromMinutes(8), "up", "--epochs", "1", "--images-per-node", "600", "--test-images", "500", "--home", _home);

        Assert.True(code == 0, output);
        foreach (string component in new[] { "identity server", "licence server", "sn1 API", "sn3 API", "node3 (API of sn3)", "merged by node" })
        {
            Assert.Contains(component, output, StringComparison.Ordinal);
        }
        Assert.Contains("swarm ledger verify: ok", output, StringComparison.Ordinal);
        Assert.Contains("the same on every node: True", output, StringComparison.Ordinal);

        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_home, "report.json")));
        var ledger = report.RootElement.GetProperty("ledger");
        Assert.Equal("Completed", ledger.GetProperty("status").GetString());
        Assert.True(ledger.GetProperty("merges").GetArrayLength() >= 2);
        Assert.True(ledger.GetProperty("chainVerifies").GetBoolean());
        Assert.Equal(3, report.RootElement.GetProperty("accuracy").GetProperty("aloneAccuracy").GetArrayLength());
        Assert.True(report.RootElement.GetProperty("accuracy").GetProperty("centralAccuracy").GetDouble() > 0.3);
        Assert.True(new FileInfo(Path.Combine(_home, "report.png")).Length > 1000);
        Assert.True(File.Exists(Path.Combine(_home, "logs", "node1.log")));

        // Nothing left running: no process mentions this swarm's folder.
        Assert.Empty(StillRunning());
    }

    [Fact]
    public async Task The_dashboard_shows_the_swarm_live_in_a_browser_and_ctrl_c_stops_every_component()
    {
        // 20 epochs, so that Ctrl-C (after 12 merges) lands while the swarm trains even on a slow CI machine: in two CI runs
        // 5 epochs ended first, and Ctrl-C during the baselines that follow did not stop `up` (an open bug, see the note).
        await using var up = SwarmProcess.Start("up", "--epochs", "20", "--images-per-node", "3000", "--home", _home);
        string url = (await up.WaitForAsync(@"dashboard\s+(http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+)", TimeSpan.FromMinutes(4))).Groups[1].Value;
        await up.WaitForAsync("training: ", TimeSpan.FromMinutes(4));
        await up.WaitForAsync("merged by node", TimeSpan.FromMinutes(2));

        // Debian's chromium, headless, loads the page while the swarm trains: the nodes, a round advancing, merge rows.
        await using (var browser = await HeadlessChromium.OpenAsync(url, 1200, 1600))
        {
            await browser.WaitUntilAsync("document.querySelectorAll('[data-node]').length === 3", "the 3 SL nodes", TimeSpan.FromMinutes(1));
            await browser.WaitUntilAsync("document.querySelectorAll('[data-sn]').length === 3", "the 3 SNs", TimeSpan.FromSeconds(30));
            await browser.WaitUntilAsync("document.querySelectorAll('[data-merge-round]').length >= 1", "a merge row", TimeSpan.FromMinutes(1));
            long round = (long)(await browser.EvaluateAsync("Number(document.querySelector('[data-contract-round]').textContent)"))!.GetValue<double>();
            await browser.WaitUntilAsync($"Number(document.querySelector('[data-contract-round]').textContent) > {round}", "the round advancing", TimeSpan.FromMinutes(2));
            Assert.Contains("of 6 in use", (string)(await browser.EvaluateAsync("document.getElementById('seats').textContent"))!, StringComparison.Ordinal);
            Assert.Matches("agree on the head|no disagreement", (string)(await browser.EvaluateAsync("document.getElementById('ledger-verification').textContent"))!);
            await browser.WaitUntilAsync("document.querySelectorAll('[data-merge-round]').length >= 12", "12 merges (for a screenshot with curves)", TimeSpan.FromMinutes(2));
            await browser.ScreenshotAsync(Path.Combine(SwarmProcess.RepositoryRoot, "TestResults", "dashboard", "dashboard.png"));
            await browser.ResizeAsync(420, 1600); // a narrow window: nothing wider than it
            Assert.True((await browser.EvaluateAsync("document.documentElement.scrollWidth <= 420"))!.GetValue<bool>(), "the page fits a narrow window");
            await browser.ScreenshotAsync(Path.Combine(SwarmProcess.RepositoryRoot, "TestResults", "dashboard", "dashboard-narrow.png"));
            using (var http = new HttpClient())
            {
                var withoutToken = await http.GetAsync(url.Split('?')[0] + "api/snapshot");
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, withoutToken.StatusCode);
            }

            // Ctrl-C with the page still open (its event stream too): everything stops.
            Assert.Equal(130, await up.InterruptAsync(TimeSpan.FromMinutes(3))); // a bound on a hang, not a speed: CI machines are shared
        }
        Assert.Empty(StillRunning());
        Assert.True(File.Exists(Path.Combine(_home, "logs", "sn1.log")), "the logs stay");
    }

    private List<string> StillRunning()
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", $"-f {_home}") { RedirectStandardOutput = true })!;
        string left = pgrep.StandardOutput.ReadToEnd();
        pgrep.WaitForExit();
        return [.. left.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    public void Dispose()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }
}
