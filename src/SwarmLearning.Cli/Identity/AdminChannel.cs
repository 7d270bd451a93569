using System.Net.Sockets;
using Grpc.Net.Client;
using SwarmLearning.Core;
using SwarmLearning.Identity.Protocol;
using SwarmLearning.Identity.Server;

namespace SwarmLearning.Cli.Identity;

/// <summary>The operator's connection to a local identity server: gRPC over its owner-only Unix socket.</summary>
internal static class AdminChannel
{
    public static (GrpcChannel Channel, IdentityAdmin.IdentityAdminClient Client) Open(string dataDirectory)
    {
        string socket = IdentityServerOptions.AdminSocketIn(dataDirectory);
        if (!File.Exists(socket))
        {
            throw new SwarmException($"no identity server admin socket at {socket}: is `swarm run-spire-server --data-dir {dataDirectory}` running on this host (as this user)?");
        }
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                    return new NetworkStream(client, ownsSocket: true);
                }
                catch (SocketException e)
                {
                    client.Dispose();
                    throw new SwarmException($"cannot connect to the identity server's admin socket {socket} ({e.SocketErrorCode}): is the server running, and are you its OS user?");
                }
            },
        };
        var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        return (channel, new IdentityAdmin.IdentityAdminClient(channel));
    }
}
