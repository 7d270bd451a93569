using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Session;

/// <summary>What a node lends its ML program's session: its name in the contract, its ports, its file server's address.</summary>
/// <param name="NodeId">The node's name (an SL node's: the last segment of its SPIFFE ID).</param>
/// <param name="Ledger">The ledger (the SN API, or the in-memory ledger).</param>
/// <param name="Store">Where parameter files live; merged models are handed to the program from here.</param>
/// <param name="Transport">Fetches peers' files into <paramref name="Store"/>.</param>
public sealed record NodeSessionContext(string NodeId, ILedger Ledger, IParameterStore Store, IParameterTransport Transport)
{
    /// <summary>This node's file server, as peers reach it (null in process).</summary>
    public string? Address { get; init; }

    /// <summary>Timings proposed if this node's registration creates the contract.</summary>
    public ContractTimings? Timings { get; init; }

    /// <summary>False opts the node out of leading merges (HPE: SL_MAKE_ME_ADMIN=False).</summary>
    public bool CanLead { get; init; } = true;

    /// <summary>How long to wait before retrying a failed fetch.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The node's clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the session and the round engine log.</summary>
    public ILoggerFactory Logs { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// The node's lifetime: its background duties (auditing merges) stop when it ends. An SL node passes its host's
    /// stopping token; a simulated node the token that crashes it.
    /// </summary>
    public CancellationToken Lifetime { get; init; }

    /// <summary>How the node lies (attacks in simulate, fault drills); null for an honest node.</summary>
    public Node.IByzantineBehaviour? Byzantine { get; init; }

    /// <summary>
    /// Called once the contract (named first) accepted the program's model layout: an SL node bounds its downloads by it
    /// and serves its files to that contract's members only.
    /// </summary>
    public Action<string, ModelSignature>? OnRegistered { get; init; }
}
