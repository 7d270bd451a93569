using Microsoft.Extensions.Logging;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Node.MlChannel;

/// <summary>What an SL node lends the ML program's session: its identity in the contract, its ports, its file server address.</summary>
/// <param name="NodeId">The node's name (the last segment of its SPIFFE ID).</param>
/// <param name="Ledger">The ledger port (the SN API).</param>
/// <param name="Store">Where parameter files live; merged models are handed to the program from here by path.</param>
/// <param name="Transport">Fetches peers' files.</param>
/// <param name="Address">This node's file server, as peers reach it.</param>
public sealed record SlNodeContext(string NodeId, ILedger Ledger, FileParameterStore Store, IParameterTransport Transport, string Address)
{
    /// <summary>Timings proposed if this node's registration creates the contract.</summary>
    public ContractTimings? Timings { get; init; }

    /// <summary>False opts the node out of leading merges.</summary>
    public bool CanLead { get; init; } = true;

    /// <summary>How long to wait before retrying a failed fetch.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The node's clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Bounds on downloads from peers; set from the model's layout once the program registers.</summary>
    public DownloadLimits Limits { get; init; } = new();

    /// <summary>Where the round engine logs.</summary>
    public required ILoggerFactory Logs { get; init; }
}
