using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Tests;

/// <summary>A node's link to the ledger that loses its merge publications while <paramref name="down"/> says so.</summary>
internal sealed class FlakyLedger(ILedger inner, Func<bool> down) : ILedger
{
    public Task<TxOutcome> SubmitAsync(ContractTx transaction, CancellationToken cancellationToken) =>
        transaction is PublishMerge && down()
            ? throw new IOException("connection to the ledger reset (simulated)")
            : inner.SubmitAsync(transaction, cancellationToken);

    public Task<ContractState?> GetContractAsync(string contract, CancellationToken cancellationToken) =>
        inner.GetContractAsync(contract, cancellationToken);

    public Task<ContractState> WaitForChangeAsync(string contract, long knownVersion, CancellationToken cancellationToken) =>
        inner.WaitForChangeAsync(contract, knownVersion, cancellationToken);
}
