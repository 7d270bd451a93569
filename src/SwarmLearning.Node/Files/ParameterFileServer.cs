using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core.Files;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Node.Files;

/// <summary>
/// An SL node's file server (default port 30305): its parameter files by SHA-256, over mutual TLS, to SL nodes of the
/// same swarm only, and of those only to the ones its caller check allows (the members of its contract). Files are streamed from disk (never buffered whole) and range requests resume cut downloads.
/// A whole-file request that accepts the <c>zstd</c> content coding (RFC 8878) gets the file compressed on the fly;
/// ranges are always served as they are on disk, so a resumed download continues the decompressed bytes.
/// </summary>
public sealed class ParameterFileServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ParameterFileServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port bound.</summary>
    public int Port { get; }

    /// <summary>Starts serving <paramref name="store"/> on <paramref name="host"/>:<paramref name="port"/> (0: any free port).</summary>
    /// <param name="store">The files.</param>
    /// <param name="identity">This node's SVID.</param>
    /// <param name="host">The address to listen on.</param>
    /// <param name="port">The port (0: any free port).</param>
    /// <param name="authorize">Null when the (verified) caller may fetch files, else why not: answered 403 with the reason.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="drip">Fault injection: send every file one byte per this interval (a Byzantine contributor), null normally.</param>
    public static async Task<ParameterFileServer> StartAsync(FileParameterStore store, ISvidSource identity, string host, int port,
        Func<SpiffeId, CancellationToken, Task<string?>> authorize, CancellationToken cancellationToken, TimeSpan? drip = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var peers = PeerPolicy.Under(identity, SwarmIdentities.SwarmLearning);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(host), port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https => https.UseSvid(identity, peers));
        }));
        var app = builder.Build();
        app.MapGet("/v1/files/{hash}", async (string hash, HttpContext context) =>
        {
            var request = context.Request;
            if (await authorize(SvidCertificate.LeafId(context.Connection.ClientCertificate!), context.RequestAborted) is { } refused)
            {
                return Results.Problem($"refused: {refused}", statusCode: StatusCodes.Status403Forbidden);
            }
            if (!ContentHash.TryParse(hash, out var content) || !store.Contains(content))
            {
                return Results.Problem($"no parameter file {hash} here", statusCode: StatusCodes.Status404NotFound);
            }
            return drip is { } interval ? new DripFileResult(store.PathOf(content), interval)
                : WantsZstd(request)
                ? new ZstdFileResult(store.PathOf(content))
                : Results.File(store.PathOf(content), "application/octet-stream", enableRangeProcessing: true);
        });
        await Identity.Listening.StartAsync(app, host, port, "--sl-fs-port", cancellationToken);
        int bound = new Uri(app.Urls.First()).Port;
        return new ParameterFileServer(app, bound);
    }

    private static bool WantsZstd(HttpRequest request) =>
        !request.Headers.ContainsKey("Range") &&
        request.GetTypedHeaders().AcceptEncoding.Any(coding =>
            coding.Value.Equals(ZstdFileResult.Coding, StringComparison.OrdinalIgnoreCase) && (coding.Quality ?? 1) > 0); // "zstd;q=0" is a no

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
