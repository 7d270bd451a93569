using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Text;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using DotNext.Net.Security;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;

namespace SwarmLearning.Ledger.Raft;

/// <summary>
/// One SN's ledger: a DotNext Raft member (TCP with mutual TLS; only SN identities may connect) whose log entries are
/// blocks. On the leader, submitted transactions are batched into blocks, signed, replicated and answered once applied.
/// </summary>
public sealed partial class RaftLedgerNode : IAsyncDisposable
{
    private readonly RaftLedgerOptions _options;
    private readonly ILogger _logger;
    private readonly LedgerStateMachine _machine;
    private readonly WriteAheadLog _wal;
    private readonly RaftCluster _cluster;
    private readonly ConcurrentQueue<SignedTransaction> _pending = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<TxResult>> _waiting = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private Task _proposer = Task.CompletedTask;
    private long _lastNonce;
    private readonly SemaphoreSlim _membership = new(1);

    private RaftLedgerNode(RaftLedgerOptions options, ILoggerFactory logs, LedgerStateMachine machine, WriteAheadLog wal, RaftCluster cluster)
    {
        _options = options;
        _logger = logs.CreateLogger<RaftLedgerNode>();
        _machine = machine;
        _wal = wal;
        _cluster = cluster;
        _machine.Applied += OnApplied;
        _machine.Superseded += OnSuperseded;
    }

    /// <summary>The world state after the last applied block.</summary>
    public LedgerState? State => _machine.State;

    /// <summary>Whether this SN leads the Raft cluster now.</summary>
    public bool IsLeader => _cluster.Leader is { IsRemote: false };

    /// <summary>The leader's Raft endpoint, if one is known.</summary>
    public EndPoint? Leader => _cluster.Leader?.EndPoint;

    /// <summary>The leader's API URL, from the SN directory on the chain.</summary>
    public string? LeaderApiUrl => Leader is { } leader && State is { } state
        ? state.SnDirectory.Values.FirstOrDefault(s => s.RaftEndPoint == leader.ToString())?.ApiUrl
        : null;

    /// <summary>The block archive (chain/blocks.jsonl).</summary>
    public string ArchivePath => _machine.ArchivePath;

    /// <summary>Blocks missing from the archive (this SN's state came from another SN's snapshot), or null.</summary>
    public ArchiveGap? Gap => _machine.Gap;

    /// <summary>The height of the last block in the archive without gaps.</summary>
    public long ArchivedHeight => _machine.ArchivedHeight;

    /// <summary>Writes the missing blocks into the archive, closing <see cref="Gap"/> (checked against both its ends).</summary>
    public void Backfill(IReadOnlyList<Block> missing) => _machine.Backfill(missing);

    /// <summary>Raised after each applied block.</summary>
    public event Action<Block, IReadOnlyList<TxResult>>? BlockApplied;

    /// <summary>Starts the member: restores the latest snapshot, replays the WAL, joins the Raft cluster.</summary>
    public static async Task<RaftLedgerNode> StartAsync(RaftLedgerOptions options, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        Identity.OwnerOnlyFile.CreateDirectory(options.DataDirectory);
        var machine = new LedgerStateMachine(options.DataDirectory, logs.CreateLogger<LedgerStateMachine>());
        await machine.RestoreAsync(cancellationToken);
        var wal = new WriteAheadLog(new WriteAheadLog.Options { Location = Path.Combine(options.DataDirectory, "wal") }, machine);
        // Raft peers: SNs admitted to this ledger (their key is on the chain). A node with no chain yet (the sentinel
        // before genesis, an SN being admitted) accepts any SN of the trust domain: it has nothing to protect yet.
        var policy = new PeerPolicy(() => options.Identity.Bundle,
            id => id.TrustDomain == options.Identity.Id.TrustDomain && SwarmIdentities.SnName(id) is not null
                && (machine.State is not { } state || state.Keys.ContainsKey(id.ToString())),
            $"SNs admitted to this ledger (spiffe://{options.Identity.Id.TrustDomain}/sn/* with a key on the chain)");
        var configuration = new RaftCluster.TcpConfiguration(options.EndPoint)
        {
            ColdStart = options.ColdStart,
            LowerElectionTimeout = options.ElectionTimeout.Lower,
            UpperElectionTimeout = options.ElectionTimeout.Upper,
            ConfigurationStorage = new MemberFile(Path.Combine(options.DataDirectory, "members")),
            SslOptions = Tls(options.Identity, policy, logs.CreateLogger("SwarmLearning.Ledger.Tls")),
            LoggerFactory = logs,
            TransmissionBlockSize = 65536,
        };
        var cluster = new RaftCluster(configuration) { AuditTrail = wal };
        var node = new RaftLedgerNode(options, logs, machine, wal, cluster);
        await cluster.StartAsync(cancellationToken);
        node._proposer = Task.Run(() => node.ProposeLoopAsync(node._stop.Token), CancellationToken.None);
        return node;
    }

    /// <summary>
    /// Admits an SN (leader only): registers its ledger key on the chain first, so that it can propose blocks once it
    /// leads, then adds it to the Raft membership.
    /// </summary>
    public async Task AdmitAsync(SpiffeId sn, string ledgerPublicKey, IPEndPoint endPoint, TimeSpan timeout, CancellationToken cancellationToken, string? apiUrl = null, string? fileUrl = null)
    {
        // One membership change at a time (Raft's rule); every step is skipped when already done, so a retry completes.
        await _membership.WaitAsync(cancellationToken);
        try
        {
            if (State?.Keys.GetValueOrDefault(sn.ToString()) != ledgerPublicKey)
            {
                var registered = await SubmitAsSelfAsync(new RegisterKey(sn.ToString(), ledgerPublicKey), cancellationToken);
                if (!registered.Accepted)
                {
                    throw new Core.SwarmException($"could not register the ledger key of {sn}: {registered.Reason}");
                }
            }
            var announce = apiUrl is null ? null : new AnnounceSn(sn.ToString(), endPoint.ToString(), apiUrl, fileUrl);
            if (announce is not null && State?.SnDirectory.GetValueOrDefault(sn.ToString()) != announce)
            {
                await SubmitAsSelfAsync(announce, cancellationToken);
            }
            if (!IsMember(endPoint) && !await AddMemberAsync(endPoint, timeout, cancellationToken))
            {
                throw new Core.SwarmException($"{sn} at {endPoint} did not join the Raft cluster: is it running with --sentinel-ip pointing here, and does its certificate chain to this swarm's trust bundle?");
            }
            LogAdmitted(_logger, sn.ToString(), endPoint.ToString());
        }
        catch (NotLeaderException)
        {
            // Leadership moved mid-admission (an election under load): the steps done so far are on the chain, so the
            // joining SN's next attempt, through the new leader, completes the rest.
            throw new Core.SwarmException($"this SN stopped leading while admitting {sn} (the leader is now {Leader?.ToString() ?? "being elected"}); the join is to be retried through the leader");
        }
        finally
        {
            _membership.Release();
        }
    }

    /// <summary>Whether <paramref name="endPoint"/> is a member of the Raft cluster.</summary>
    public bool IsMember(EndPoint endPoint) => _cluster.Members.Any(m => m.EndPoint.ToString() == endPoint.ToString());

    /// <summary>Adds an SN to the cluster (leader only); bounded by <paramref name="timeout"/> because a peer failing TLS can stall the call.</summary>
    public async Task<bool> AddMemberAsync(IPEndPoint endPoint, TimeSpan timeout, CancellationToken cancellationToken) =>
        await _cluster.AddMemberAsync(endPoint, cancellationToken).WaitAsync(timeout, cancellationToken);

    /// <summary>Waits until a leader is known.</summary>
    public Task WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken) => _cluster.WaitForLeaderAsync(timeout, cancellationToken);

    /// <summary>Submits a transaction on the leader; returns its result once its block is committed and applied here.</summary>
    /// <exception cref="NotLeaderException">This SN does not lead: forward to <see cref="Leader"/>.</exception>
    public Task<TxResult> SubmitAsync(SignedTransaction transaction, CancellationToken cancellationToken)
    {
        if (!IsLeader)
        {
            throw new NotLeaderException(new InvalidOperationException($"this SN does not lead; the leader is {Leader?.ToString() ?? "unknown (election in progress)"}"));
        }
        string id = Convert.ToHexStringLower(transaction.Hash);
        var waiter = _waiting.GetOrAdd(id, _ => new TaskCompletionSource<TxResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _pending.Enqueue(transaction);
        _signal.Release();
        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Waits until this SN has applied every block the leader had committed when called (read-your-writes here).</summary>
    public Task ReadBarrierAsync(CancellationToken cancellationToken) => _cluster.ApplyReadBarrierAsync(cancellationToken).AsTask();

    /// <summary>
    /// Signs <paramref name="action"/> as this SN with its next nonce (e.g. registering an SL node's ledger key) and
    /// submits it. Signing and queueing are one step under a lock, so this SN's transactions reach the block in nonce
    /// order: two requests at once could otherwise queue nonce 4 before 3, and 3 would be refused as a replay.
    /// </summary>
    public Task<TxResult> SubmitAsSelfAsync(LedgerAction action, CancellationToken cancellationToken)
    {
        lock (_pending)
        {
            _lastNonce = Math.Max(_lastNonce, _machine.State?.Nonces.GetValueOrDefault(_options.Self.ToString()) ?? 0) + 1;
            return SubmitAsync(SignedTransaction.Sign(new TxBody(_options.ChainId, _options.Self.ToString(), _lastNonce, action), _options.LedgerKey), cancellationToken);
        }
    }

    /// <summary>Writes the genesis block (the sentinel's first start, once it leads its one-member cluster).</summary>
    public async Task WriteGenesisAsync(CancellationToken cancellationToken, string? apiUrl = null, string? fileUrl = null)
    {
        if (_machine.State is not null)
        {
            return; // restarted sentinel: genesis is on the chain already
        }
        await _cluster.WaitForLeadershipAsync(cancellationToken);
        var (genesis, _) = ChainRules.Genesis(_options.ChainId, _options.Self, _options.LedgerKey, DateTimeOffset.UtcNow,
            apiUrl is null ? null : new AnnounceSn(_options.Self.ToString(), _options.EndPoint.ToString(), apiUrl, fileUrl));
        await ReplicateAsync(genesis, cancellationToken);
        LogGenesis(_logger, genesis.Hash, _options.ChainId);
    }

    private async Task ProposeLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(cancellationToken);
                if (_pending.IsEmpty)
                {
                    continue;
                }
                if (!IsLeader)
                {
                    FailPending("this SN lost the leadership before the transaction was committed; submit it again");
                    continue;
                }
                await _cluster.ApplyReadBarrierAsync(cancellationToken); // every committed block is applied here first
                var state = _machine.State ?? throw new InvalidOperationException("no genesis yet");
                if (!state.Keys.ContainsKey(_options.Self.ToString()))
                {
                    // Every SN would reject a block from a proposer without a key on the chain: never propose one.
                    throw new InvalidOperationException($"this SN ({_options.Self}) leads but its ledger key is not on the chain; it must be admitted by an SN that is");
                }
                var batch = new List<SignedTransaction>();
                long bytes = 0;
                while (batch.Count < _options.MaxBlockTransactions && bytes < MaxBlockBytes && _pending.TryDequeue(out var transaction))
                {
                    batch.Add(transaction);
                    bytes += System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(transaction, LedgerJson.Options).Length;
                }
                var (block, _) = ChainRules.Propose(state, batch, DateTimeOffset.UtcNow, _options.Self, _options.LedgerKey);
                await ReplicateAsync(block, cancellationToken);
                if (!_pending.IsEmpty)
                {
                    _signal.Release();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NotLeaderException or InvalidOperationException or TimeoutException)
            {
                LogProposalFailed(_logger, e.Message);
                FailPending(e.Message);
            }
            catch (Exception e)
            {
                // Never fatal: whatever a batch did, the loop goes on with the next one (docs/security.md).
                LogProposerError(_logger, e.GetType().Name, e.Message);
                FailPending($"the block could not be built ({e.Message})");
            }
        }
    }

    /// <summary>Background loops that stopped, with why (empty while all run): shown by the SN's /v1/health.</summary>
    public IReadOnlyList<string> StoppedLoops => _proposer.IsFaulted || (_proposer.IsCompleted && !_stop.IsCancellationRequested)
        ? [$"block proposer: {_proposer.Exception?.InnerException?.Message ?? "ended"}"]
        : [];

    /// <summary>Blocks are cut at about this many bytes of transactions (each transaction is at most <see cref="TransactionCheck.MaxBytes"/>).</summary>
    public const int MaxBlockBytes = 8 << 20;

    private async Task ReplicateAsync(Block block, CancellationToken cancellationToken)
    {
        byte[] payload = Encoding.UTF8.GetBytes(block.ToJson());
        await _cluster.ReplicateAsync((ReadOnlyMemory<byte>)payload, context: null, cancellationToken);
    }

    private void OnApplied(Block block, IReadOnlyList<TxResult> results)
    {
        foreach (var result in results)
        {
            if (_waiting.TryRemove(result.TxId, out var waiter))
            {
                waiter.TrySetResult(result);
            }
        }
        BlockApplied?.Invoke(block, results);
    }

    private void OnSuperseded(Block block)
    {
        foreach (var transaction in block.Transactions)
        {
            if (_waiting.ContainsKey(Convert.ToHexStringLower(transaction.Hash)))
            {
                _pending.Enqueue(transaction);
            }
        }
        _signal.Release();
    }

    private void FailPending(string reason)
    {
        while (_pending.TryDequeue(out var transaction))
        {
            if (_waiting.TryRemove(Convert.ToHexStringLower(transaction.Hash), out var waiter))
            {
                waiter.TrySetException(new NotLeaderException(new InvalidOperationException(reason)));
            }
        }
    }

    private static SslOptions Tls(ISvidSource identity, PeerPolicy policy, ILogger logger)
    {
        var options = new SslOptions();
        options.ServerOptions.ServerCertificateSelectionCallback = (_, _) => identity.Current;
        options.ServerOptions.ClientCertificateRequired = true;
        options.ServerOptions.EnabledSslProtocols = MutualTls.Protocols;
        options.ClientOptions.EnabledSslProtocols = MutualTls.Protocols;
        options.ServerOptions.CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
        options.ServerOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => Accept(policy, certificate, logger);
        options.ClientOptions.TargetHost = "sn";
        options.ClientOptions.CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
        options.ClientOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => identity.Current;
        options.ClientOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => Accept(policy, certificate, logger);
        return options;
    }

    private static bool Accept(PeerPolicy policy, System.Security.Cryptography.X509Certificates.X509Certificate? certificate, ILogger logger)
    {
        if (policy.Check(certificate, out string? reason) is not null)
        {
            return true;
        }
        LogRefusedPeer(logger, reason!);
        return false;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _signal.Release();
        await _proposer;
        await _cluster.StopAsync(CancellationToken.None);
        _cluster.Dispose();
        await _wal.DisposeAsync();
        await _machine.DisposeAsync();
        _stop.Dispose();
        _signal.Dispose();
    }

    [LoggerMessage(LogLevel.Information, "admitted {Sn} at {EndPoint} to the ledger")]
    private static partial void LogAdmitted(ILogger logger, string sn, string endPoint);

    [LoggerMessage(LogLevel.Information, "wrote genesis block {Hash} of chain {ChainId}")]
    private static partial void LogGenesis(ILogger logger, string hash, string chainId);

    [LoggerMessage(LogLevel.Warning, "could not commit a block: {Reason}")]
    private static partial void LogProposalFailed(ILogger logger, string reason);

    [LoggerMessage(LogLevel.Error, "the block proposer met {Kind} and goes on; the pending transactions were refused: {Reason}")]
    private static partial void LogProposerError(ILogger logger, string kind, string reason);

    [LoggerMessage(LogLevel.Warning, "refused a ledger peer: {Reason}")]
    private static partial void LogRefusedPeer(ILogger logger, string reason);
}
