using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Raft;

namespace SwarmLearning.Network;

/// <summary>
/// A Swarm Network node: the Raft ledger plus its REST API (HTTPS with mutual TLS; SNs, SL nodes and command
/// interfaces of the trust domain may call). Writes go to the leader: a follower forwards them, naming the caller.
/// </summary>
public sealed partial class SnHost : IAsyncDisposable
{
    private const string CallerHeader = "X-Swarm-Caller";
    private readonly WebApplication _app;
    private readonly WebApplication _files;
    private readonly HttpClient _peers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly RefusalLimiter _refusals = new();
    private Task _backfill = Task.CompletedTask;

    private SnHost(WebApplication app, WebApplication files, RaftLedgerNode ledger, HttpClient peers, ILogger logger)
    {
        _app = app;
        _files = files;
        Ledger = ledger;
        _peers = peers;
        _logger = logger;
    }

    /// <summary>The ledger.</summary>
    public RaftLedgerNode Ledger { get; }

    /// <summary>
    /// Starts the SN: ledger, API, file server, and genesis (sentinel's first start) or joining (another SN's first
    /// start). The API and the file server are two hosts, each with its own callers: nothing of one is served on the
    /// other's port (docs/security.md).
    /// </summary>
    public static async Task<SnHost> StartAsync(SnOptions options, Action<ILoggingBuilder>? logging, CancellationToken cancellationToken)
    {
        Identity.OwnerOnlyFile.CreateDirectory(options.DataDirectory);
        bool firstStart = !Directory.Exists(Path.Combine(options.DataDirectory, "wal"));
        if (!IPAddress.TryParse(options.Host, out var address))
        {
            throw new Core.SwarmException($"--host '{options.Host}' is not an IP address");
        }
        var callers = new PeerPolicy(() => options.Identity.Bundle,
            id => id.TrustDomain == options.Identity.Id.TrustDomain && (id.IsUnder(SwarmIdentities.SwarmNetwork) || id.IsUnder(SwarmIdentities.SwarmLearning) || id.IsUnder(SwarmIdentities.CommandInterface)),
            $"spiffe://{options.Identity.Id.TrustDomain}/sn|sl|swci/*");
        var app = Build(logging, address, options.ApiPort, options.Identity, callers, openApi: true);
        var files = Build(logging, address, options.FilePort, options.Identity, PeerPolicy.Under(options.Identity, SwarmIdentities.SwarmNetwork), openApi: false);
        var logs = app.Services.GetRequiredService<ILoggerFactory>();
        var ledgerKey = LedgerKeyFile.OpenOrCreate(options.DataDirectory);
        RaftLedgerNode ledger;
        try
        {
            ledger = await RaftLedgerNode.StartAsync(new RaftLedgerOptions
            {
                DataDirectory = options.DataDirectory,
                EndPoint = new IPEndPoint(address, options.LedgerPort),
                ColdStart = options.Sentinel && firstStart,
                Identity = options.Identity,
                LedgerKey = ledgerKey,
                ChainId = options.ChainId,
            }, logs, cancellationToken);
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw Listening.PortTaken(options.Host, options.LedgerPort, "--ledger-port");
        }
        var peers = new HttpClient(MutualTls.Handler(options.Identity, PeerPolicy.Under(options.Identity, SwarmIdentities.SwarmNetwork))) { Timeout = TimeSpan.FromSeconds(60) };
        var host = new SnHost(app, files, ledger, peers, logs.CreateLogger<SnHost>());
        host.MapApi(app, options);
        host.MapFiles(files, options);
        try
        {
            await Listening.StartAsync(app, options.Host, options.ApiPort, "--api-port", cancellationToken);
            await Listening.StartAsync(files, options.Host, options.FilePort, "--sn-fs-port", cancellationToken);
        }
        catch
        {
            await ledger.DisposeAsync();
            throw;
        }
        if (options.Sentinel && firstStart)
        {
            await ledger.WriteGenesisAsync(cancellationToken, options.ApiUrl, options.FileUrl);
        }
        else if (firstStart)
        {
            await host.JoinAsync(options, ChainRules.PublicKeyOf(ledgerKey), cancellationToken);
        }
        host._backfill = Task.Run(() => host.BackfillAsync(options, host._stop.Token), CancellationToken.None);
        return host;
    }

    private static WebApplication Build(Action<ILoggingBuilder>? logging, IPAddress address, int port, ISvidSource identity, PeerPolicy callers, bool openApi)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // a failed start is reported once, as one line, by the caller
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("DotNext", LogLevel.Warning);
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.KebabCaseLower));
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        if (openApi)
        {
            builder.Services.AddOpenApi("v1");
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = TransactionCheck.MaxBytes + (64 << 10);
            var tlsLog = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("SwarmLearning.Network.Tls");
            kestrel.Listen(address, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https => https.UseSvid(identity, callers, requireClientCertificate: true, tlsLog));
            });
        });
        return builder.Build();
    }

    /// <summary>Waits until the host is stopped (Ctrl-C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    private async Task JoinAsync(SnOptions options, string ledgerPublicKey, CancellationToken cancellationToken)
    {
        if (options.JoinVia is null)
        {
            throw new Core.SwarmException("this SN is new and is not the sentinel: give --sentinel-ip and --sentinel-api-port (an SN already in the network)");
        }
        var request = new JoinRequest($"{options.Host}:{options.LedgerPort}", options.ApiUrl, ledgerPublicKey, options.FileUrl);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await _peers.PostAsJsonAsync(new Uri($"https://{options.JoinVia}/v1/sn/join"), request, LedgerJson.Options, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    LogJoined(_logger, options.JoinVia);
                    return;
                }
                LogJoinRetry(_logger, options.JoinVia, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
            catch (HttpRequestException e)
            {
                LogJoinRetry(_logger, options.JoinVia, e.Message);
            }
            if (attempt >= 30)
            {
                throw new Core.SwarmException($"could not join the network through {options.JoinVia} after {attempt} attempts: is that SN running, and does this SN's certificate chain to the same trust bundle?");
            }
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }

    /// <summary>
    /// Who is asking: the verified mTLS identity, or, when that is an SN admitted to this ledger (its key on the chain
    /// and its address in the SN directory), the caller it forwards for. Never a header from anyone else.
    /// </summary>
    private SpiffeId Caller(HttpContext context)
    {
        var direct = SvidCertificate.LeafId(context.Connection.ClientCertificate!);
        if (!context.Request.Headers.TryGetValue(CallerHeader, out var named))
        {
            return direct;
        }
        bool admitted = SwarmIdentities.SnName(direct) is not null && Ledger.State is { } state
            && state.Keys.ContainsKey(direct.ToString()) && state.SnDirectory.ContainsKey(direct.ToString());
        return admitted && SpiffeId.TryParse(named, out var original, out _) && original.TrustDomain == direct.TrustDomain ? original : direct;
    }

    private async Task<IResult> OnLeader(HttpContext context, object body, Func<Task<IResult>> onLeader)
    {
        if (Ledger.IsLeader)
        {
            return await onLeader();
        }
        string? api = Ledger.LeaderApiUrl;
        if (api is null)
        {
            return Results.Problem("no leader is known yet (an election is in progress); retry in a second", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        using var forward = new HttpRequestMessage(HttpMethod.Post, new Uri(api + context.Request.Path)) { Content = JsonContent.Create(body, body.GetType(), options: LedgerJson.Options) };
        forward.Headers.Add(CallerHeader, Caller(context).ToString());
        HttpResponseMessage response;
        try
        {
            response = await _peers.SendAsync(forward, context.RequestAborted);
        }
        catch (HttpRequestException e)
        {
            return Results.Problem($"the leader SN at {api} did not answer ({e.Message}); an election may follow: retry in a few seconds", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        using var answered = response;
        if (response.IsSuccessStatusCode)
        {
            // The leader answers once the block is applied there; the caller's next read comes here, so apply it here
            // too first (without this, an SL node registered through this SN was told at once it was not registered).
            try
            {
                await Ledger.ReadBarrierAsync(context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The write stands; a read may lag until the next block arrives, as it would have without the barrier.
            }
        }
        return Results.Content(await response.Content.ReadAsStringAsync(context.RequestAborted), "application/json", statusCode: (int)response.StatusCode);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _backfill;
        _stop.Dispose();
        await _app.StopAsync();
        await _files.StopAsync();
        await Ledger.DisposeAsync();
        await _app.DisposeAsync();
        await _files.DisposeAsync();
        _refusals.Dispose();
        _peers.Dispose();
    }

    [LoggerMessage(LogLevel.Information, "joined the Swarm Network through {Via}")]
    private static partial void LogJoined(ILogger logger, string via);

    [LoggerMessage(LogLevel.Warning, "joining through {Via} failed ({Reason}); retrying")]
    private static partial void LogJoinRetry(ILogger logger, string via, string reason);
}
