using System.Collections.Immutable;

namespace SwarmLearning.Protocol.Contract;

/// <summary>The outcome of one transaction: accepted with its events, or refused with a code and a reason.</summary>
public sealed record TxOutcome(bool Accepted, string? Code, string? Reason, IReadOnlyList<ContractEvent> Events, long Version)
{
    /// <summary>Throws the refusal as a <see cref="ContractRejectedException"/>.</summary>
    public TxOutcome EnsureAccepted() => Accepted ? this : throw new ContractRejectedException(Code!, Reason!);
}

/// <summary>All training contracts of a network (several trainings side by side), keyed by name: the ledger's world state.</summary>
public sealed record ContractRegistry(ImmutableSortedDictionary<string, ContractState> Contracts)
{
    /// <summary>A registry with no contract.</summary>
    public static ContractRegistry Empty { get; } = new(ImmutableSortedDictionary.Create<string, ContractState>(StringComparer.Ordinal));

    /// <summary>Applies a transaction; a refusal leaves the registry as it was.</summary>
    public (ContractRegistry Registry, TxOutcome Outcome) Apply(ContractTx tx, TxContext context)
    {
        if (ContractTxShape.Problem(tx) is { } malformed)
        {
            return (this, new TxOutcome(false, "malformed", malformed, [], tx?.Contract is { } name ? Contracts.GetValueOrDefault(name)?.Version ?? 0 : 0));
        }
        var events = new List<ContractEvent>();
        var current = Contracts.GetValueOrDefault(tx.Contract);
        try
        {
            var next = TrainingContract.Apply(current, tx, context, events);
            var registry = ReferenceEquals(next, current) ? this : new ContractRegistry(Contracts.SetItem(tx.Contract, next));
            return (registry, new TxOutcome(true, null, null, events, next.Version));
        }
        catch (ContractRejectedException e)
        {
            return (this, new TxOutcome(false, e.Code, e.Message, [], current?.Version ?? 0));
        }
    }
}
