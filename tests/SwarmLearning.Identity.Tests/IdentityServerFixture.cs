using System.Net.Sockets;
using Grpc.Net.Client;
using SwarmLearning.Identity.Protocol;

namespace SwarmLearning.Identity.Tests;

/// <summary>A real `swarm run-spire-server` process on loopback with its own data folder.</summary>
public sealed class IdentityServerFixture : IAsyncLifetime
{
    private SwarmProcess? _server;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "swarm-spire-" + Guid.NewGuid().ToString("N")[..8]);

    public string Address { get; private set; } = "";

    public string BundlePath => Path.Combine(DataDirectory, "ca.crt");

    public string Output => _server?.Output ?? "";

    public string AuditLog => File.ReadAllText(Path.Combine(DataDirectory, "audit.log"));

    /// <summary>Lifetime of the SVIDs this server issues.</summary>
    public string SvidTtl { get; init; } = "1h";

    public async Task InitializeAsync()
    {
        _server = SwarmProcess.Start("run-spire-server", "--data-dir", DataDirectory, "--host", "127.0.0.1", "--port", "0", "--svid-ttl", SvidTtl);
        var ready = await _server.WaitForAsync(@"identity server ready: .* listening on 127\.0\.0\.1:(\d+)");
        Address = "127.0.0.1:" + ready.Groups[1].Value;
    }

    /// <summary>Creates a join token through the real CLI and admin socket.</summary>
    public async Task<string> CreateTokenAsync(string spiffeId, string ttl = "10m")
    {
        var (exitCode, output) = await SwarmProcess.RunAsync("identity", "token", "create", "--data-dir", DataDirectory, "--spiffe-id", spiffeId, "--ttl", ttl);
        Assert.True(exitCode == 0, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Single(l => l.StartsWith("sjt.", StringComparison.Ordinal));
    }

    /// <summary>A raw admin client on the Unix socket (to send what the CLI would refuse to send).</summary>
    public (GrpcChannel Channel, IdentityAdmin.IdentityAdminClient Client) Admin()
    {
        string socket = Path.Combine(DataDirectory, "admin.sock");
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                return new NetworkStream(client, ownsSocket: true);
            },
        };
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        return (channel, new IdentityAdmin.IdentityAdminClient(channel));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(DataDirectory, recursive: true);
    }
}
