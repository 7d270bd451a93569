using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Ports;

/// <summary>
/// The ledger as an SL node sees it: submit contract transactions, read a contract, wait for it to change.
/// Implemented in memory for tests and the simulator, and by the SN API client for the real network.
/// </summary>
public interface ILedger
{
    /// <summary>Submits a transaction and returns once it is committed and applied (accepted or refused by the contract).</summary>
    Task<TxOutcome> SubmitAsync(ContractTx transaction, CancellationToken cancellationToken);

    /// <summary>Returns the contract's current state, or null if there is none by that name.</summary>
    Task<ContractState?> GetContractAsync(string contract, CancellationToken cancellationToken);

    /// <summary>Returns the contract once its version is above <paramref name="knownVersion"/> (long-poll; no busy waiting).</summary>
    Task<ContractState> WaitForChangeAsync(string contract, long knownVersion, CancellationToken cancellationToken);
}
