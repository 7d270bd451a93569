using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Tests;

/// <summary>
/// SVID rotation with the real identity server process (SVIDs of 10 s, renewed at half-life): two nodes talk over mTLS
/// through a connection that stays up across both renewals, and new connections present the new certificates.
/// </summary>
public sealed class RotationTests : IAsyncLifetime
{
    private readonly IdentityServerFixture _server = new() { SvidTtl = "10s" };
    private readonly string _work = Path.Combine(Path.GetTempPath(), "swarm-rotation-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => _server.InitializeAsync();

    [Fact]
    public async Task A_connection_stays_up_across_a_renewal_and_new_connections_use_the_new_svids()
    {
        var tokenA = JoinToken.Parse(await _server.CreateTokenAsync("spiffe://swarm.local/sl/a"));
        var tokenB = JoinToken.Parse(await _server.CreateTokenAsync("spiffe://swarm.local/sl/b"));
        await using var serverIdentity = await ManagedSvidSource.StartAsync(_server.Address, Path.Combine(_work, "a"), tokenA, NullLogger.Instance);
        await using var clientIdentity = await ManagedSvidSource.StartAsync(_server.Address, Path.Combine(_work, "b"), tokenB, NullLogger.Instance);
        string firstClientSerial = clientIdentity.Current.SerialNumber;

        await using var app = await StartEchoServer(serverIdentity);
        string url = $"https://127.0.0.1:{app.Urls.Select(u => new Uri(u).Port).First()}/whoami";
        string? seenServerSerial = null;
        var policy = PeerPolicy.Under(clientIdentity, "sl");
        using var kept = new HttpClient(WithServerCapture(clientIdentity, policy, s => seenServerSerial = s));

        var before = await Ask(kept, url);
        string firstServerSerial = seenServerSerial!;
        Assert.Equal(firstClientSerial, before.ClientSerial);

        // Both renew at half-life (5 s) in the background.
        for (int i = 0; i < 300 && (clientIdentity.Current.SerialNumber == firstClientSerial || serverIdentity.Current.SerialNumber == firstServerSerial); i++)
        {
            await Task.Delay(100);
        }
        Assert.NotEqual(firstClientSerial, clientIdentity.Current.SerialNumber);
        Assert.NotEqual(firstServerSerial, serverIdentity.Current.SerialNumber);

        var during = await Ask(kept, url);
        Assert.Equal(before.Connection, during.Connection); // the connection stayed up…
        Assert.Equal(before.ClientSerial, during.ClientSerial); // …with the certificate it started with

        using var fresh = new HttpClient(WithServerCapture(clientIdentity, policy, s => seenServerSerial = s));
        var after = await Ask(fresh, url);
        Assert.NotEqual(before.Connection, after.Connection);
        Assert.NotEqual(before.ClientSerial, after.ClientSerial);
        Assert.Equal(clientIdentity.Current.SerialNumber, after.ClientSerial);
        Assert.NotEqual(firstServerSerial, seenServerSerial);
        Assert.Equal(serverIdentity.Current.SerialNumber, seenServerSerial);
        Assert.Contains("\"renewed\"", _server.AuditLog, StringComparison.Ordinal);

        // The renewed SVID is on disk, so a restart needs no new token.
        await using var restarted = await ManagedSvidSource.StartAsync(_server.Address, Path.Combine(_work, "b"), token: null, NullLogger.Instance);
        Assert.Equal(clientIdentity.Current.SerialNumber, restarted.Current.SerialNumber);
    }

    private static SocketsHttpHandler WithServerCapture(ISvidSource identity, PeerPolicy policy, Action<string> seen)
    {
        var handler = MutualTls.Handler(identity, policy);
        var check = handler.SslOptions.RemoteCertificateValidationCallback!;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            seen(((X509Certificate2)certificate!).SerialNumber);
            return check(sender, certificate, chain, errors);
        };
        return handler;
    }

    private static async Task<WebApplication> StartEchoServer(ISvidSource identity)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(h => h.UseSvid(identity, PeerPolicy.Under(identity, "sl")))));
        var app = builder.Build();
        app.MapGet("/whoami", (HttpContext context) => $"{context.Connection.Id} {context.Connection.ClientCertificate!.SerialNumber}");
        await app.StartAsync();
        return app;
    }

    private static async Task<(string Connection, string ClientSerial)> Ask(HttpClient client, string url)
    {
        string[] parts = (await client.GetStringAsync(new Uri(url))).Split(' ');
        return (parts[0], parts[1]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        if (Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }
}
