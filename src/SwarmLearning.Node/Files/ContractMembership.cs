using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Node.Files;

/// <summary>
/// Who may fetch this node's parameter files: the active members of the training contract the node takes part in (its
/// check-ins and merged models are that contract's business, not the whole trust domain's). The contract is the one the
/// node last registered in, remembered in its work folder, so a node that only serves its files after the training
/// (<c>--ml-cmd ''</c>) still knows it. The contract state is read from the ledger and kept for a moment; an unknown caller
/// makes it read again (at most every <see cref="Refresh"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The semaphore has no wait handle: nothing to dispose.")]
public sealed class ContractMembership(ILedger ledger, string workDirectory, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _reading = new(1, 1);
    private string? _contract = ReadRemembered(workDirectory);
    private ContractState? _state;
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    /// <summary>How long a read of the contract is trusted before an unknown caller makes it read again.</summary>
    public TimeSpan Refresh { get; init; } = TimeSpan.FromSeconds(2);

    private string RememberedPath => Path.Combine(workDirectory, "contract");

    /// <summary>Records the contract the node registered in (the program registered).</summary>
    public void Registered(string contract)
    {
        _contract = contract;
        _state = null;
        Identity.OwnerOnlyFile.WriteText(RememberedPath, contract);
    }

    /// <summary>Null when <paramref name="caller"/> may fetch this node's files, otherwise why not.</summary>
    public async Task<string?> ProblemAsync(SpiffeId caller, CancellationToken cancellationToken)
    {
        if (SwarmIdentities.SlNodeName(caller) is not { } name)
        {
            return $"{caller} is not an SL node";
        }
        if (_contract is not { } contract)
        {
            return "this node has not joined a training contract yet";
        }
        var state = await StateAsync(contract, force: false, cancellationToken);
        if (!IsMember(state, name) && _time.GetUtcNow() - _readAt >= Refresh)
        {
            state = await StateAsync(contract, force: true, cancellationToken); // perhaps it joined a moment ago
        }
        return IsMember(state, name) ? null
            : state?.Nodes.GetValueOrDefault(name)?.Byzantine is not null ? $"node '{name}' was found Byzantine in contract '{contract}'"
            : $"node '{name}' is not an active member of contract '{contract}', which this node's files belong to";
    }

    private static bool IsMember(ContractState? state, string name) => state?.Nodes.GetValueOrDefault(name)?.IsActive == true;

    private async Task<ContractState?> StateAsync(string contract, bool force, CancellationToken cancellationToken)
    {
        await _reading.WaitAsync(cancellationToken);
        try
        {
            if (force || _state is null || _state.Name != contract || _time.GetUtcNow() - _readAt >= Refresh)
            {
                _state = await ledger.GetContractAsync(contract, cancellationToken);
                _readAt = _time.GetUtcNow();
            }
            return _state;
        }
        finally
        {
            _reading.Release();
        }
    }

    private static string? ReadRemembered(string directory)
    {
        string path = Path.Combine(directory, "contract");
        return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } name ? name : null;
    }
}
