using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Network.Client;

/// <summary>
/// The ledger as an SL node sees it over the network: the <see cref="ILedger"/> port on the SN REST API. Transactions
/// are signed with the node's ledger key; waits are long-polls; when an SN is down or electing, the next SN in the list
/// is tried, so a node rides out the loss of any SN while a majority is up. When no SN answers (its own link is cut,
/// every SN is restarting) it keeps trying for <see cref="Patience"/>: a node on a flaky site link waits for it to
/// come back instead of failing its ML program (docs/deploy.md).
/// </summary>
public sealed partial class SnLedgerClient : ILedger, IDisposable
{
    private readonly HttpClient _http;
    private readonly IReadOnlyList<Uri> _sns;
    private readonly ECDsa _key;
    private readonly string _sender;
    private readonly string _chainId;
    private readonly Lock _nonceGate = new();
    private readonly SemaphoreSlim _submitting = new(1, 1);
    private readonly ILogger? _logger;
    private long _lastNonce;
    private int _current;
    private bool _unanswered;

    /// <summary>Creates a client for the SNs at <paramref name="sns"/> (API URLs), acting as <paramref name="identity"/>.</summary>
    public SnLedgerClient(IReadOnlyList<Uri> sns, ISvidSource identity, ECDsa ledgerKey, string chainId, ILogger? logger = null)
    {
        _logger = logger;
        if (sns.Count == 0)
        {
            throw new Core.SwarmException("no SN given: pass at least one SN API address (--sn-ip/--sn-api-port)");
        }
        _sns = sns;
        _key = ledgerKey;
        _sender = identity.Id.ToString();
        _chainId = chainId;
        _http = new HttpClient(MutualTls.Handler(identity, PeerPolicy.Under(identity, Identity.Spiffe.SwarmIdentities.SwarmNetwork))) { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>How long a request keeps trying while no SN answers (default 30 s, for operator commands; SL nodes wait longer).</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Puts this node's ledger key on the chain (through an SN, which checks the node's SVID).</summary>
    public async Task RegisterKeyAsync(CancellationToken cancellationToken)
    {
        var result = await SendAsync(sn => _http.PostAsJsonAsync(new Uri(sn, "/v1/keys"), new KeyRequest(ChainRules.PublicKeyOf(_key)), LedgerJson.Options, cancellationToken), cancellationToken);
        var outcome = (await result.Content.ReadFromJsonAsync<TxResult>(LedgerJson.Options, cancellationToken))!;
        if (!outcome.Accepted)
        {
            throw new Core.SwarmException($"the SN refused to register this node's ledger key: {outcome.Reason}");
        }
    }

    /// <inheritdoc />
    public async Task<TxOutcome> SubmitAsync(ContractTx transaction, CancellationToken cancellationToken)
    {
        // One transaction at a time: a node's program and its background audits both submit, and a later nonce that
        // overtook an earlier one would have the earlier refused as a replay.
        await _submitting.WaitAsync(cancellationToken);
        try
        {
            // Signed afresh for every attempt: a try whose answer was lost (a cut link) may have committed, and resending the
            // same nonce would only be refused as a replay; the contract makes a repeated action harmless instead.
            using var response = await SendAsync(sn => _http.PostAsJsonAsync(new Uri(sn, "/v1/transactions"),
                SignedTransaction.Sign(new TxBody(_chainId, _sender, NextNonce(), new ContractAction(transaction)), _key), LedgerJson.Options, cancellationToken), cancellationToken);
            var result = (await response.Content.ReadFromJsonAsync<TxResult>(LedgerJson.Options, cancellationToken))!;
            return new TxOutcome(result.Accepted, result.Code, result.Reason, result.Events, result.Version);
        }
        finally
        {
            _submitting.Release();
        }
    }

    /// <inheritdoc />
    public async Task<ContractState?> GetContractAsync(string contract, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(sn => _http.GetAsync(new Uri(sn, $"/v1/contracts/{Uri.EscapeDataString(contract)}"), cancellationToken), cancellationToken, notFoundIsAnswer: true);
        return response.StatusCode == HttpStatusCode.NotFound ? null : await response.Content.ReadFromJsonAsync<ContractState>(LedgerJson.Options, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ContractState> WaitForChangeAsync(string contract, long knownVersion, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var response = await SendAsync(sn => _http.GetAsync(new Uri(sn, $"/v1/contracts/{Uri.EscapeDataString(contract)}?after={knownVersion}"), cancellationToken), cancellationToken, notFoundIsAnswer: true);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (await response.Content.ReadFromJsonAsync<ContractState>(LedgerJson.Options, cancellationToken))!;
            }
            // 204: nothing changed within the SN's long-poll window, or 404: no contract yet; ask again.
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
    }

    // Nonces grow across restarts without stored state: never below the clock's ticks.
    private long NextNonce()
    {
        lock (_nonceGate)
        {
            _lastNonce = Math.Max(_lastNonce + 1, DateTime.UtcNow.Ticks);
            return _lastNonce;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(Func<Uri, Task<HttpResponseMessage>> send, CancellationToken cancellationToken, bool notFoundIsAnswer = false)
    {
        var errors = new List<string>();
        var started = DateTime.UtcNow;
        var until = started + Patience;
        for (int attempt = 0; ; attempt++)
        {
            var sn = _sns[_current % _sns.Count];
            try
            {
                var response = await send(sn);
                if (response.IsSuccessStatusCode || (notFoundIsAnswer && response.StatusCode == HttpStatusCode.NotFound))
                {
                    if (_unanswered)
                    {
                        _unanswered = false;
                        if (_logger is not null)
                        {
                            LogAnswersAgain(_logger, sn.Authority);
                        }
                    }
                    return response;
                }
                string body = await response.Content.ReadAsStringAsync(cancellationToken);
                errors.Add($"{sn.Authority}: {(int)response.StatusCode} {body}");
                response.Dispose();
                if ((int)response.StatusCode is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.MisdirectedRequest or HttpStatusCode.TooManyRequests))
                {
                    throw new Core.SwarmException($"the SN at {sn.Authority} refused: {body}"); // a refusal is an answer: asking again changes nothing
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // Refused, unreachable, or silent past the client's timeout (a cut link leaves requests hanging): this SN
                // is down for us, try the next one.
                errors.Add($"{sn.Authority}: {(e is TaskCanceledException ? "no answer within " + _http.Timeout.TotalSeconds + " s" : e.Message)}");
                Interlocked.Increment(ref _current);
            }
            if (DateTime.UtcNow >= until)
            {
                throw new Core.SwarmException($"no SN answered in {(DateTime.UtcNow - started).TotalSeconds:0} s ({string.Join("; ", errors.TakeLast(3))}): are the SNs running and reachable?");
            }
            if (attempt == 2 * _sns.Count && !_unanswered)
            {
                _unanswered = true;
                if (_logger is not null)
                {
                    LogWaiting(_logger, string.Join(", ", _sns.Select(u => u.Authority)), string.Join("; ", errors.TakeLast(_sns.Count)), Patience.TotalSeconds);
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 200 * (attempt + 1))), cancellationToken);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _submitting.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "waiting for an SN: none of {Sns} answers ({Errors}); retrying for up to {Patience} s")]
    private static partial void LogWaiting(ILogger logger, string sns, string errors, double patience);

    [LoggerMessage(Level = LogLevel.Information, Message = "the SN at {Sn} answers again")]
    private static partial void LogAnswersAgain(ILogger logger, string sn);
}
