using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Network;

/// <summary>How `swarm run-sn` runs one Swarm Network node.</summary>
public sealed record SnOptions
{
    /// <summary>Default ledger (Raft) port.</summary>
    public const int DefaultLedgerPort = 30303;

    /// <summary>Default REST API port.</summary>
    public const int DefaultApiPort = 30304;

    /// <summary>Where the ledger key, WAL, snapshots, membership and block archive live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>This SN's identity (an SVID for spiffe://td/sn/NAME).</summary>
    public required ISvidSource Identity { get; init; }

    /// <summary>The address other SNs and SL nodes reach this SN at.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The ledger's peer-to-peer port.</summary>
    public int LedgerPort { get; init; } = DefaultLedgerPort;

    /// <summary>The REST API port.</summary>
    public int ApiPort { get; init; } = DefaultApiPort;

    /// <summary>Default file server port (the block archive): 30306, so an SL node's file server (30305) fits on the same host.</summary>
    public const int DefaultFilePort = 30306;

    /// <summary>The file server port: the block archive for SNs that catch up and for auditors.</summary>
    public int FilePort { get; init; } = DefaultFilePort;

    /// <summary>This SN's file server URL.</summary>
    public string FileUrl => $"https://{Host}:{FilePort}";

    /// <summary>True for the first SN of a network: it creates the genesis block.</summary>
    public bool Sentinel { get; init; }

    /// <summary>host:port of an SN's API to join through (the sentinel's, or any member's).</summary>
    public string? JoinVia { get; init; }

    /// <summary>The chain id the sentinel writes in genesis.</summary>
    public string ChainId { get; init; } = "swarm.local/main";

    /// <summary>This SN's API URL.</summary>
    public string ApiUrl => $"https://{Host}:{ApiPort}";
}
