using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Licensing.Licenses;

namespace SwarmLearning.Licensing.Server;

/// <summary>
/// The licence server (`swarm run-apls`, HTTPS with mutual TLS, default port 5814): installed licences and seat leases
/// for every SN and SL of the trust domain. Compliance, not DRM: a licence is a signed statement of what was bought,
/// and components ask for a seat so that an operator sees when more run than were licensed.
/// </summary>
public sealed partial class AplsHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AplsHost(WebApplication app, SeatBook seats, int port)
    {
        _app = app;
        Seats = seats;
        Port = port;
    }

    /// <summary>The state.</summary>
    public SeatBook Seats { get; }

    /// <summary>The port bound.</summary>
    public int Port { get; }

    /// <summary>Starts the server; logs each installed licence (or why it cannot be used).</summary>
    public static async Task<AplsHost> StartAsync(AplsOptions options, Action<ILoggingBuilder>? logging, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        if (!IPAddress.TryParse(options.Host, out var address))
        {
            throw new LicenseException($"--host '{options.Host}' is not an IP address");
        }
        var issuers = IssuerKeys.Load(options.TrustedIssuers);
        var seats = new SeatBook(options.DataDirectory, issuers, options.LeaseTime, time ?? TimeProvider.System);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // a failed start is reported once, as one line, by the caller
        var tlsLog = LoggerFactory.Create(l => logging?.Invoke(l)).CreateLogger("SwarmLearning.Licensing.Tls");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, options.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https => https.UseSvid(options.Identity, PeerPolicy.AnyInDomain(options.Identity), requireClientCertificate: true, tlsLog));
        }));
        var app = builder.Build();
        var logger = app.Services.GetService(typeof(ILoggerFactory)) is ILoggerFactory factory ? factory.CreateLogger<AplsHost>() : null;
        Map(app, seats, logger);
        await Identity.Listening.StartAsync(app, options.Host, options.Port, "--port", cancellationToken);
        int port = new Uri(app.Urls.First()).Port;
        if (logger is not null)
        {
            string listening = $"{options.Host}:{port}";
            LogListening(logger, listening, issuers.Ids.Count, options.LeaseTime);
            foreach (var license in seats.Licenses())
            {
                string line = license.Terms is { } t ? $"{t.Id} for {t.Licensee}: {t.Seats} seats, {t.NotBefore:yyyy-MM-dd} to {t.NotAfter:yyyy-MM-dd}" : $"{license.File} cannot be used: {license.Problem}";
                LogLicense(logger, line);
            }
        }
        return new AplsHost(app, seats, port);
    }

    private static void Map(WebApplication app, SeatBook seats, ILogger? logger)
    {
        app.MapGet("/v1/health", () => Results.Ok(new { status = "ok" }));
        app.MapGet("/v1/licenses", () => Results.Ok(seats.Licenses().Select(Info).ToList()));
        app.MapPost("/v1/licenses", async (HttpContext context) =>
        {
            var caller = Caller(context);
            if (!caller.IsUnder(SwarmIdentities.CommandInterface))
            {
                return Forbidden($"{caller} may not install licences: install them on the licence server's host (`swarm license install`) or as an operator (spiffe://{caller.TrustDomain}/swci/*)");
            }
            using var reader = new StreamReader(context.Request.Body);
            string text = await reader.ReadToEndAsync(context.RequestAborted);
            return Guard(() =>
            {
                var terms = seats.Install(text, "the uploaded licence");
                Log(logger, $"{caller} installed licence {terms.Id} ({terms.Seats} seats until {terms.NotAfter:yyyy-MM-dd})");
                return Results.Ok(Info(new InstalledLicense("", terms, null, 0)));
            });
        });
        // Operators see every seat; a component sees its own.
        app.MapGet("/v1/seats", (HttpContext context) => Results.Ok(seats.Leases()
            .Where(l => Caller(context).IsUnder(SwarmIdentities.CommandInterface) || l.Holder == Caller(context).ToString()).Select(l => Seat(l, seats)).ToList()));
        app.MapPost("/v1/seats", async (HttpContext context) =>
        {
            var (request, refusal) = await SeatRequestOf(context);
            return refusal ?? Guard(() =>
            {
                var lease = seats.Checkout(Caller(context).ToString(), request!.Component);
                Log(logger, $"seat for {lease.Holder} ({lease.Component}) on licence {lease.LicenseId} until {lease.ExpiresAt:HH:mm:ss}");
                return Results.Ok(Seat(lease, seats));
            }, logger, Caller(context).ToString());
        });
        app.MapPost("/v1/seats/{leaseId}/renew", async (HttpContext context, string leaseId) =>
        {
            var (request, refusal) = await SeatRequestOf(context);
            return refusal ?? Guard(() => Results.Ok(Seat(seats.Renew(leaseId, Caller(context).ToString(), request!.Component), seats)), logger, Caller(context).ToString());
        });
        app.MapDelete("/v1/seats/{leaseId}", (HttpContext context, string leaseId) =>
        {
            string caller = Caller(context).ToString();
            bool released = seats.Release(leaseId, caller);
            if (released)
            {
                Log(logger, $"{caller} returned its seat");
            }
            return released ? Results.NoContent() : Results.Problem($"no seat {leaseId} held by {caller}", statusCode: StatusCodes.Status404NotFound);
        });
    }

    /// <summary>
    /// Seats are for the components that run a swarm: exactly spiffe://TD/sn/NAME ("sn") and spiffe://TD/sl/NAME
    /// ("sl"), each asking for its own kind. The body must be a seat request with a component.
    /// </summary>
    private static async Task<(SeatRequest? Request, IResult? Refusal)> SeatRequestOf(HttpContext context)
    {
        var caller = Caller(context);
        string? kind = SwarmIdentities.SnName(caller) is not null ? "sn" : SwarmIdentities.SlNodeName(caller) is not null ? "sl" : null;
        if (kind is null)
        {
            return (null, Forbidden($"{caller} may not take a seat: seats are for SN (spiffe://{caller.TrustDomain}/sn/NAME) and SL (spiffe://{caller.TrustDomain}/sl/NAME) nodes"));
        }
        SeatRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<SeatRequest>(context.Request.Body, StrictJson, context.RequestAborted);
        }
        catch (JsonException e)
        {
            return (null, Results.Problem($"the body is not a seat request: {e.Message}", statusCode: StatusCodes.Status400BadRequest));
        }
        return request is null ? (null, Results.Problem("the body is not a seat request: null", statusCode: StatusCodes.Status400BadRequest))
            : request.Component != kind ? (null, Results.Problem($"{caller} asks as '{request.Component}' but is an {kind} node", statusCode: StatusCodes.Status400BadRequest))
            : (request, null);
    }

    private static readonly JsonSerializerOptions StrictJson = new(JsonSerializerDefaults.Web) { RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true };

    private static IResult Forbidden(string reason) => Results.Problem(reason, statusCode: StatusCodes.Status403Forbidden);

    private static IResult Guard(Func<IResult> action, ILogger? logger = null, string? caller = null)
    {
        try
        {
            return action();
        }
        catch (LicenseException e)
        {
            if (logger is not null)
            {
                LogRefused(logger, caller ?? "a caller", e.Message);
            }
            return Results.Problem(e.Message, statusCode: StatusCodes.Status403Forbidden);
        }
    }

    private static SpiffeId Caller(HttpContext context) => SvidCertificate.LeafId(context.Connection.ClientCertificate!);

    private static SeatInfo Seat(SeatLease lease, SeatBook seats) =>
        new(lease.LeaseId, lease.Holder, lease.Component, lease.LicenseId, lease.ExpiresAt, seats.LeaseTime.TotalSeconds);

    private static LicenseInfo Info(InstalledLicense license) => license.Terms is { } t
        ? new(t.Id, t.Licensee, t.Features, t.Seats, license.SeatsInUse, t.NotBefore, t.NotAfter, null)
        : new(Path.GetFileNameWithoutExtension(license.File), null, null, 0, 0, null, null, license.Problem);

    private static void Log(ILogger? logger, string message)
    {
        if (logger is not null)
        {
            LogEvent(logger, message);
        }
    }

    /// <summary>Waits until the host is stopped.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "licence server listening on {Address} ({Issuers} trusted issuer(s), seat leases of {Lease})")]
    private static partial void LogListening(ILogger logger, string address, int issuers, TimeSpan lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "licence {License}")]
    private static partial void LogLicense(ILogger logger, string license);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Message}")]
    private static partial void LogEvent(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "refused {Caller}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string caller, string reason);
}
