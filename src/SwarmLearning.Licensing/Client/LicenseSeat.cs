using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Licensing.Licenses;
using SwarmLearning.Licensing.Server;

namespace SwarmLearning.Licensing.Client;

/// <summary>
/// A component's seat on the licence server: checked out at start (from the primary server, else the secondary),
/// renewed in the background at a third of its lease time, returned on dispose. A crashed component's seat comes back
/// to the pool when its lease lapses.
/// </summary>
public sealed partial class LicenseSeat : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly Uri _server;
    private readonly string _component;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _renewals;

    private LicenseSeat(HttpClient http, Uri server, SeatInfo seat, string component, ILogger logger)
    {
        _http = http;
        _server = server;
        Seat = seat;
        _component = component;
        _logger = logger;
    }

    /// <summary>The seat held.</summary>
    public SeatInfo Seat { get; private set; }

    /// <summary>Checks out a seat from the first of <paramref name="servers"/> (host:port) that answers; throws saying what to do.</summary>
    public static async Task<LicenseSeat> CheckoutAsync(IReadOnlyList<string> servers, ISvidSource identity, string component, ILogger logger, CancellationToken cancellationToken)
    {
        var http = new HttpClient(MutualTls.Handler(identity, PeerPolicy.Exactly(() => identity.Bundle, SpiffeId.ForTrustDomain(identity.Id.TrustDomain).InDomain(SwarmIdentities.LicenceServer))))
        {
            Timeout = TimeSpan.FromSeconds(15),
        };
        var unreachable = new List<string>();
        foreach (string server in servers)
        {
            var uri = new Uri($"https://{server}");
            try
            {
                using var response = await http.PostAsJsonAsync(new Uri(uri, "/v1/seats"), new SeatRequest(component), Json, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    http.Dispose();
                    throw new LicenseException($"the licence server at {server} refused a seat: {await Detail(response, cancellationToken)}");
                }
                var seat = (await response.Content.ReadFromJsonAsync<SeatInfo>(Json, cancellationToken))!;
                var held = new LicenseSeat(http, uri, seat, component, logger);
                LogCheckedOut(logger, seat.LicenseId, server, seat.ExpiresAt);
                held._renewals = Task.Run(() => held.RenewLoopAsync(held._stop.Token), CancellationToken.None);
                return held;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                unreachable.Add($"{server} ({e.Message})");
            }
        }
        http.Dispose();
        throw new LicenseException($"no licence server is reachable: {string.Join("; ", unreachable)}; is `swarm run-apls` running there? give its address and port with --apls (a second --apls is the secondary)");
    }

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.5, Seat.LeaseSeconds / 3)), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            try
            {
                using var response = await _http.PostAsJsonAsync(new Uri(_server, $"/v1/seats/{Seat.LeaseId}/renew"), new SeatRequest(_component), Json, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    Seat = (await response.Content.ReadFromJsonAsync<SeatInfo>(Json, cancellationToken))!;
                }
                else
                {
                    LogRenewFailed(_logger, _server.Authority, await Detail(response, cancellationToken));
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogRenewFailed(_logger, _server.Authority, e.Message);
            }
        }
    }

    private static async Task<string> Detail(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonDocument.Parse(body).RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return $"{(int)response.StatusCode} {body}";
        }
    }

    /// <summary>Stops renewing and returns the seat.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_renewals is not null)
        {
            await _renewals;
        }
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var response = await _http.DeleteAsync(new Uri(_server, $"/v1/seats/{Seat.LeaseId}"), timeout.Token);
            LogReturned(_logger, Seat.LicenseId);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            LogReturnFailed(_logger, e.Message);
        }
        _http.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "licence: seat on {License} from {Server}, lease until {Until:HH:mm:ss}")]
    private static partial void LogCheckedOut(ILogger logger, string license, string server, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "licence: renewing the seat at {Server} failed: {Reason}; retrying")]
    private static partial void LogRenewFailed(ILogger logger, string server, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "licence: seat on {License} returned")]
    private static partial void LogReturned(ILogger logger, string license);

    [LoggerMessage(Level = LogLevel.Warning, Message = "licence: returning the seat failed ({Reason}); it comes back when its lease lapses")]
    private static partial void LogReturnFailed(ILogger logger, string reason);
}
