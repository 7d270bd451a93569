using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Server;

/// <summary>
/// The identity server as a running host: the public gRPC service on TCP with TLS (clients may come without a
/// certificate to attest, with their SVID to renew) and the admin service on an owner-only Unix socket.
/// </summary>
public sealed class IdentityServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private IdentityServerHost(WebApplication app, IdentityAuthority authority, int port)
    {
        _app = app;
        Authority = authority;
        Port = port;
    }

    /// <summary>The authority behind the server.</summary>
    public IdentityAuthority Authority { get; }

    /// <summary>The TCP port actually bound.</summary>
    public int Port { get; }

    /// <summary>Starts the server; returns once it is listening.</summary>
    public static async Task<IdentityServerHost> StartAsync(IdentityServerOptions options, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        var authority = new IdentityAuthority(options.DataDirectory, options.TrustDomain, options.SvidLifetime, time);
        var own = new ServerSvid(authority, time);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(authority);
        builder.Services.AddSingleton(PeerPolicy.AnyInDomain(own));
        if (!IPAddress.TryParse(options.Host, out var address))
        {
            throw new Core.SwarmException($"--host '{options.Host}' is not an IP address: give one such as 0.0.0.0 or 127.0.0.1");
        }
        string socket = options.AdminSocket;
        File.Delete(socket); // left by a killed server
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(https => https.UseSvid(own, PeerPolicy.AnyInDomain(own), requireClientCertificate: false,
                    kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("SwarmLearning.Identity.Tls")));
            });
            kestrel.ListenUnixSocket(socket, listen => listen.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        // The admin service answers on the Unix socket only: TCP callers have a remote IP address.
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/swarm.identity.v1.IdentityAdmin", StringComparison.Ordinal) && context.Connection.RemoteIpAddress is not null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await next(context);
        });
        app.MapGrpcService<IdentityService>();
        app.MapGrpcService<AdminService>();
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            authority.Dispose();
            throw new Core.SwarmException($"cannot listen on {options.Host}:{options.Port}: {e.Message}. Is another identity server running? Stop it or pass --port");
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal))).First(u => u.Scheme == "https").Port;
        return new IdentityServerHost(app, authority, bound);
    }

    /// <summary>Waits until the host stops.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Authority.Dispose();
    }
}
