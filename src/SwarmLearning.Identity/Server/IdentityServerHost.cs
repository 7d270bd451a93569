using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Server;

/// <summary>
/// The identity server as two hosts in one process: the public gRPC service on TCP with TLS (clients may come without
/// a certificate to attest, with their SVID to renew), and the admin service on an owner-only Unix socket. The admin
/// service is not mapped on the TCP host at all, so no path, casing or header can reach it there (docs/security.md).
/// </summary>
public sealed class IdentityServerHost : IAsyncDisposable
{
    private readonly WebApplication _public;
    private readonly WebApplication _admin;

    private IdentityServerHost(WebApplication publicHost, WebApplication adminHost, IdentityAuthority authority, int port)
    {
        _public = publicHost;
        _admin = adminHost;
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
        if (!IPAddress.TryParse(options.Host, out var address))
        {
            throw new Core.SwarmException($"--host '{options.Host}' is not an IP address: give one such as 0.0.0.0 or 127.0.0.1");
        }
        var authority = new IdentityAuthority(options.DataDirectory, options.TrustDomain, options.SvidLifetime, time, options.MaxTokenLifetime);
        var own = new ServerSvid(authority, time);
        var publicHost = Build(authority, logging, kestrel => kestrel.Listen(address, options.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(https => https.UseSvid(own, PeerPolicy.AnyInDomain(own), requireClientCertificate: false,
                kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("SwarmLearning.Identity.Tls")));
        }), services => services.AddSingleton(PeerPolicy.AnyInDomain(own)));
        publicHost.MapGrpcService<IdentityService>();

        string socket = options.AdminSocket;
        File.Delete(socket); // left by a killed server
        var adminHost = Build(authority, logging, kestrel => kestrel.ListenUnixSocket(socket, listen => listen.Protocols = HttpProtocols.Http2), _ => { });
        adminHost.MapGrpcService<AdminService>();
        try
        {
            await Listening.StartAsync(publicHost, options.Host, options.Port, "--port", cancellationToken);
            await adminHost.StartAsync(cancellationToken);
        }
        catch
        {
            authority.Dispose();
            throw;
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var bound = publicHost.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal))).First(u => u.Scheme == "https").Port;
        return new IdentityServerHost(publicHost, adminHost, authority, bound);
    }

    private static WebApplication Build(IdentityAuthority authority, Action<ILoggingBuilder>? logging, Action<KestrelServerOptions> listen, Action<IServiceCollection> services)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // a failed start is reported once, as one line, by the caller
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(authority);
        services(builder.Services);
        builder.WebHost.ConfigureKestrel(listen);
        return builder.Build();
    }

    /// <summary>Waits until the host stops.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _public.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _admin.StopAsync();
        await _public.StopAsync();
        await _admin.DisposeAsync();
        await _public.DisposeAsync();
        Authority.Dispose();
    }
}
