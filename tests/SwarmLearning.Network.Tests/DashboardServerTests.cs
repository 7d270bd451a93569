using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Network.Dashboard;
using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>The dashboard's server on its own: the token, the Host check, the embedded page, and a feed that cannot reach its SN.</summary>
public sealed class DashboardServerTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-dash-" + Guid.NewGuid().ToString("N")[..8]);
    private DashboardServer _server = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        var ca = CertificateAuthority.OpenOrCreate(Path.Combine(_root, "ca"), "swarm.local", TimeProvider.System);
        var identity = new StaticSvidSource(ca.IssueCredential(SpiffeId.Parse("spiffe://swarm.local/swci/ops"), TimeSpan.FromHours(1), DateTimeOffset.UtcNow), new TrustBundle([ca.Certificate]));
        var feed = new DashboardFeed(identity, [new Uri($"https://127.0.0.1:{Loopback.FreePort()}")], null, NullLogger.Instance);
        _server = await DashboardServer.StartAsync(feed, 0, _ => { }, CancellationToken.None);
    }

    [Fact]
    public async Task Data_needs_the_token_and_the_page_is_served_with_a_strict_policy()
    {
        string base_ = _server.Url.Split('?')[0];
        string query = _server.Url.Split('?')[1];
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync(base_ + "api/snapshot")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync(base_ + "api/events?token=" + new string('0', 32))).StatusCode);

        var page = await _http.GetAsync(base_);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("<script src=\"/app.js\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("EventSource", await _http.GetStringAsync(base_ + "app.js"), StringComparison.Ordinal);

        // The SN is not there: the snapshot says so (the feed's loop goes on).
        string snapshot = "";
        for (int i = 0; i < 100 && !snapshot.Contains("no SN answers", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            snapshot = await _http.GetStringAsync($"{base_}api/snapshot?{query}");
        }
        Assert.Contains("no SN answers", snapshot, StringComparison.Ordinal);
        Assert.Contains("spiffe://swarm.local/swci/ops", snapshot, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_for_another_host_name_is_refused()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Url.Replace("?", "api/snapshot?", StringComparison.Ordinal));
        request.Headers.Host = "dashboard.attacker.example";
        Assert.Equal(HttpStatusCode.MisdirectedRequest, (await _http.SendAsync(request)).StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _http.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
