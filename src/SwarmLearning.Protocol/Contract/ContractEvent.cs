namespace SwarmLearning.Protocol.Contract;

/// <summary>Something that happened in a contract, for logs and progress displays; <see cref="Text"/> is a readable sentence.</summary>
public sealed record ContractEvent(string Contract, string Kind, string Text);

/// <summary>A transaction the contract refused, with a stable code and a sentence saying why and what to do.</summary>
public sealed class ContractRejectedException(string code, string message) : Exception(message)
{
    /// <summary>A stable machine-readable reason (e.g. "stale-base", "signature-mismatch").</summary>
    public string Code { get; } = code;
}
