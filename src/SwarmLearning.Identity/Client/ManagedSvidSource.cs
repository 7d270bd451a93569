using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Client;

/// <summary>
/// An identity kept by the identity server: obtained once with a join token (or found valid on disk), renewed in the
/// background at half-life over mTLS with the current SVID, and kept on disk so a restart needs no new token.
/// </summary>
public sealed partial class ManagedSvidSource : ISvidSource, IAsyncDisposable
{
    private readonly IdentityClient _client;
    private readonly SvidFolder _folder;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private volatile X509Certificate2 _current;
    private volatile TrustBundle _bundle;
    private Task _renewals = Task.CompletedTask;

    private ManagedSvidSource(IdentityClient client, SvidFolder folder, X509Certificate2 current, TrustBundle bundle, ILogger logger, TimeProvider time)
    {
        _client = client;
        _folder = folder;
        _current = current;
        _bundle = bundle;
        _logger = logger;
        _time = time;
        Id = SvidCertificate.LeafId(current);
    }

    /// <summary>Raised after each renewal with the new SVID.</summary>
    public event Action<X509Certificate2>? Rotated;

    /// <inheritdoc />
    public SpiffeId Id { get; }

    /// <inheritdoc />
    public X509Certificate2 Current => _current;

    /// <inheritdoc />
    public TrustBundle Bundle => _bundle;

    /// <summary>Where the SVID is kept.</summary>
    public SvidFolder Folder => _folder;

    /// <summary>
    /// Uses the valid SVID in <paramref name="directory"/>, or attests with <paramref name="token"/>; then renews in
    /// the background until disposed.
    /// </summary>
    public static async Task<ManagedSvidSource> StartAsync(string serverAddress, string directory, JoinToken? token, ILogger logger,
        TrustBundle? trustBundle = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        var client = new IdentityClient(serverAddress);
        var folder = new SvidFolder(directory);
        X509Certificate2? current = null;
        TrustBundle? bundle = null;
        if (folder.Exists)
        {
            (current, bundle) = folder.Load();
            if (current.NotAfter.ToUniversalTime() <= time.GetUtcNow().UtcDateTime)
            {
                LogExpiredOnDisk(logger, current.NotAfter.ToUniversalTime(), directory);
                current = null;
            }
        }
        if (current is null)
        {
            if (token is null)
            {
                throw new Core.SwarmException(folder.Exists
                    ? $"the SVID in {directory} has expired and no join token was given: create one with `swarm identity token create --spiffe-id <id>` and pass it with --join-token"
                    : $"no SVID in {directory} and no join token: create one with `swarm identity token create --spiffe-id <id>` and pass it with --join-token");
            }
            current = await client.AttestAsync(token, folder, trustBundle, cancellationToken);
            bundle = TrustBundle.Load(folder.BundlePath);
            LogAttested(logger, SvidCertificate.LeafId(current).ToString(), current.NotAfter.ToUniversalTime());
        }
        var source = new ManagedSvidSource(client, folder, current, bundle!, logger, time);
        source._renewals = Task.Run(() => source.RenewLoopAsync(source._stop.Token), CancellationToken.None);
        return source;
    }

    /// <summary>Renews now (tests, and an operator's `swarm identity renew`).</summary>
    public async Task RenewNowAsync(CancellationToken cancellationToken)
    {
        var renewed = await _client.RenewAsync(this, _folder, cancellationToken);
        _bundle = TrustBundle.Load(_folder.BundlePath);
        _current = renewed; // the previous one may still be in use by an open connection; left to the GC
        LogRenewed(_logger, Id.ToString(), renewed.SerialNumber, renewed.NotAfter.ToUniversalTime());
        Rotated?.Invoke(renewed);
    }

    private async Task RenewLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // At half-life; never sooner than a second apart, whatever the certificate says.
            var wait = SvidMaterial.HalfLife(_current) - _time.GetUtcNow();
            wait = wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait;
            try
            {
                await Task.Delay(wait, _time, cancellationToken);
                await RenewNowAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (IdentityCallException e) when (e.Status == Grpc.Core.StatusCode.PermissionDenied)
            {
                LogRenewalRefused(_logger, Id.ToString(), e.Message, _current.NotAfter.ToUniversalTime());
                return; // removed by an operator: retrying cannot help
            }
            catch (Core.SwarmException e)
            {
                var left = new DateTimeOffset(_current.NotAfter.ToUniversalTime()) - _time.GetUtcNow();
                var retry = TimeSpan.FromTicks(Math.Clamp(left.Ticks / 10, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromSeconds(30).Ticks));
                LogRenewalFailed(_logger, Id.ToString(), e.Message, retry.TotalSeconds);
                try
                {
                    await Task.Delay(retry, _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewals;
        _stop.Dispose();
    }

    [LoggerMessage(LogLevel.Information, "attested as {Id}; SVID valid until {NotAfter:u}")]
    private static partial void LogAttested(ILogger logger, string id, DateTime notAfter);

    [LoggerMessage(LogLevel.Information, "renewed SVID of {Id}: serial {Serial}, valid until {NotAfter:u}")]
    private static partial void LogRenewed(ILogger logger, string id, string serial, DateTime notAfter);

    [LoggerMessage(LogLevel.Warning, "SVID renewal for {Id} failed: {Reason}; retrying in {Seconds:F0} s")]
    private static partial void LogRenewalFailed(ILogger logger, string id, string reason, double seconds);

    [LoggerMessage(LogLevel.Error, "SVID renewal for {Id} refused: {Reason}. The current SVID stops working at {NotAfter:u}")]
    private static partial void LogRenewalRefused(ILogger logger, string id, string reason, DateTime notAfter);

    [LoggerMessage(LogLevel.Warning, "the SVID on disk expired at {NotAfter:u} ({Directory}); attesting again")]
    private static partial void LogExpiredOnDisk(ILogger logger, DateTime notAfter, string directory);
}
