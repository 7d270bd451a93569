using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.InMemory;

/// <summary>
/// A ledger in memory: applies transactions in order with block time from a <see cref="TimeProvider"/>, each as a block
/// of its own whose hash chains the transactions so far (the beacon auditors are drawn from).
/// For tests and the simulator; the real ledger replicates the same <see cref="ContractRegistry"/> over Raft.
/// </summary>
public sealed class InMemoryLedger(TimeProvider time) : ILedger
{
    private readonly Lock _gate = new();
    private readonly List<Waiter> _waiters = [];
    private readonly List<ContractTx> _log = [];
    private ContractRegistry _registry = ContractRegistry.Empty;
    private long _height;
    private string _headHash = new('0', 64);
    private readonly Dictionary<long, string> _hashes = [];

    /// <summary>Raised after every accepted transaction with its events (for progress displays and tests).</summary>
    public event Action<ContractTx, TxOutcome>? Applied;

    /// <summary>The accepted transactions so far, in order.</summary>
    public IReadOnlyList<ContractTx> Log { get { lock (_gate) { return [.. _log]; } } }

    /// <summary>The current world state.</summary>
    public ContractRegistry Registry { get { lock (_gate) { return _registry; } } }

    /// <summary>Applies a transaction as sent by <paramref name="sender"/> (operator rights when <paramref name="isOperator"/>).</summary>
    public TxOutcome Submit(ContractTx transaction, string sender, bool isOperator = false)
    {
        TxOutcome outcome;
        var woken = new List<(Waiter Waiter, ContractState State)>();
        lock (_gate)
        {
            var before = _registry;
            _height++;
            (_registry, outcome) = _registry.Apply(transaction, new TxContext(sender, isOperator, time.GetUtcNow(), _height, _headHash, h => _hashes.GetValueOrDefault(h)));
            _headHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
                $"{_headHash}\n{sender}\n{System.Text.Json.JsonSerializer.Serialize(transaction, ContractJson.Options)}")));
            _hashes[_height] = _headHash;
            _hashes.Remove(_height - 256);
            if (outcome.Accepted)
            {
                _log.Add(transaction);
            }
            if (!ReferenceEquals(before, _registry) && _registry.Contracts.TryGetValue(transaction.Contract, out var state))
            {
                for (int i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].Contract == transaction.Contract && state.Version > _waiters[i].Version)
                    {
                        woken.Add((_waiters[i], state));
                        _waiters.RemoveAt(i);
                    }
                }
            }
        }
        foreach (var (waiter, state) in woken)
        {
            waiter.Wake(state);
        }
        if (outcome.Accepted)
        {
            Applied?.Invoke(transaction, outcome);
        }
        return outcome;
    }

    /// <summary>A view of this ledger for one node: its transactions are sent as that node.</summary>
    public ILedger For(string nodeId) => new NodeView(this, nodeId);

    /// <inheritdoc />
    public Task<TxOutcome> SubmitAsync(ContractTx transaction, CancellationToken cancellationToken) =>
        Task.FromResult(Submit(transaction, "operator", isOperator: true));

    /// <inheritdoc />
    public Task<ContractState?> GetContractAsync(string contract, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_registry.Contracts.GetValueOrDefault(contract));
        }
    }

    /// <inheritdoc />
    public Task<ContractState> WaitForChangeAsync(string contract, long knownVersion, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_gate)
        {
            if (_registry.Contracts.TryGetValue(contract, out var state) && state.Version > knownVersion)
            {
                return Task.FromResult(state);
            }
            waiter = new Waiter(contract, knownVersion, SynchronizationContext.Current);
            _waiters.Add(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                lock (_gate)
                {
                    _waiters.Remove(waiter);
                }
                waiter.Completion.TrySetCanceled(cancellationToken);
            });
            waiter.Completion.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        return waiter.Completion.Task;
    }

    /// <summary>
    /// A pending wait. It is woken through the waiter's own synchronization context when it had one (deterministic
    /// single-threaded tests), else on the thread pool, so a submitter never runs another node's code inline.
    /// </summary>
    private sealed record Waiter(string Contract, long Version, SynchronizationContext? Context)
    {
        public TaskCompletionSource<ContractState> Completion { get; } = new();

        public void Wake(ContractState state)
        {
            if (Context is not null)
            {
                Context.Post(_ => Completion.TrySetResult(state), null);
            }
            else
            {
                ThreadPool.QueueUserWorkItem(_ => Completion.TrySetResult(state));
            }
        }
    }

    private sealed class NodeView(InMemoryLedger ledger, string nodeId) : ILedger
    {
        public Task<TxOutcome> SubmitAsync(ContractTx transaction, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Task.FromResult(ledger.Submit(transaction, nodeId));
        }

        public Task<ContractState?> GetContractAsync(string contract, CancellationToken cancellationToken) =>
            ledger.GetContractAsync(contract, cancellationToken);

        public Task<ContractState> WaitForChangeAsync(string contract, long knownVersion, CancellationToken cancellationToken) =>
            ledger.WaitForChangeAsync(contract, knownVersion, cancellationToken);
    }
}
