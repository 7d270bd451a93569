using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Node.MlChannel;

/// <summary>Serves a node's <see cref="NodeSession"/> to its ML program: gRPC (proto/ml.proto) on a Unix socket only this OS user can open.</summary>
public static class MlChannelHost
{
    /// <summary>Starts the channel on <paramref name="socketPath"/>; merged models are handed over as paths into <paramref name="store"/>.</summary>
    public static async Task<WebApplication> StartAsync(
        string socketPath, NodeSession session, FileParameterStore store, MlSessionEvents events, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        if (File.Exists(socketPath))
        {
            File.Delete(socketPath); // left by a node that was killed: nobody listens on it
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(logs);
        builder.Services.AddGrpc(grpc => grpc.EnableDetailedErrors = true);
        builder.Services.AddSingleton(session);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(events);
        builder.Services.AddSingleton<MlChannelService>(); // one session per node
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(socketPath, listen => listen.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapGrpcService<MlChannelService>();
        await app.StartAsync(cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite); // only this user's programs may talk to the node
        }
        return app;
    }
}
