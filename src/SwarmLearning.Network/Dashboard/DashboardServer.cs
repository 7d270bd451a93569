using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Network.Dashboard;

/// <summary>
/// The dashboard's web server, on 127.0.0.1 only: the page (HTML, script and style embedded in this assembly: no CDN,
/// no framework), the snapshot as JSON, and server-sent events carrying each new snapshot. The SNs are read with the
/// operator's identity, so the page needs a secret: a random token in its URL, checked on every data request; the
/// Host header must name this address (no DNS rebinding).
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Resource, string Type)> Files = new()
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/app.js"] = ("app.js", "text/javascript; charset=utf-8"),
        ["/style.css"] = ("style.css", "text/css; charset=utf-8"),
    };

    private readonly WebApplication _app;
    private readonly DashboardFeed _feed;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _feeding;

    private DashboardServer(WebApplication app, DashboardFeed feed, string token, int port)
    {
        _app = app;
        _feed = feed;
        Url = $"http://127.0.0.1:{port}/?token={token}";
        _feeding = feed.RunAsync(_stop.Token);
    }

    /// <summary>The page's address, with its token.</summary>
    public string Url { get; }

    /// <summary>Starts serving <paramref name="feed"/> on 127.0.0.1:<paramref name="port"/> (0: any free port).</summary>
    public static async Task<DashboardServer> StartAsync(DashboardFeed feed, int port, Action<ILoggingBuilder> logging, CancellationToken cancellationToken)
    {
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear(); // no appsettings.json or Kestrel__* variables may add an endpoint beside 127.0.0.1
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Logging.ClearProviders();
        logging(builder.Logging);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        int boundPort = 0;
        app.Use(async (context, next) =>
        {
            if (context.Request.Host.Host is not ("127.0.0.1" or "localhost") || context.Request.Host.Port != boundPort)
            {
                context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                return;
            }
            context.Response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            context.Response.Headers["Cache-Control"] = "no-store";
            await next();
        });
        foreach (var (path, (resource, type)) in Files)
        {
            byte[] content = Resource(resource);
            app.MapGet(path, () => Results.Bytes(content, type));
        }
        app.MapGet("/api/snapshot", (HttpContext context) => Authorized(context, token) ? Results.Text(feed.Json, "application/json") : Results.Unauthorized());
        app.MapGet("/api/events", async (HttpContext context) =>
        {
            if (!Authorized(context, token))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            context.Response.ContentType = "text/event-stream";
            // Ends with the request or with the server: an open tab never holds up a shutdown.
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, app.Lifetime.ApplicationStopping);
            var aborted = ended.Token;
            string sent = "";
            while (!aborted.IsCancellationRequested)
            {
                var changed = feed.Changed;
                string json = feed.Json;
                if (json.Length > 0 && json != sent)
                {
                    await context.Response.WriteAsync($"data: {json}\n\n", Encoding.UTF8, aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    sent = json;
                }
                try
                {
                    await changed.WaitAsync(TimeSpan.FromSeconds(15), aborted);
                }
                catch (TimeoutException)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", aborted); // proxies and browsers keep the stream open
                    await context.Response.Body.FlushAsync(aborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        await app.StartAsync(cancellationToken);
        boundPort = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return new DashboardServer(app, feed, token, boundPort);
    }

    private static bool Authorized(HttpContext context, string token)
    {
        string given = context.Request.Query["token"].ToString();
        return given.Length == token.Length && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), Encoding.ASCII.GetBytes(token));
    }

    private static byte[] Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("SwarmLearning.Network.Dashboard.web." + name)
            ?? throw new InvalidOperationException($"the dashboard's {name} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _feeding;
        }
        catch (Exception)
        {
            // the feed's loop catches its own failures; whatever still escaped must not stop the shutdown
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        _feed.Dispose();
        _stop.Dispose();
    }
}
