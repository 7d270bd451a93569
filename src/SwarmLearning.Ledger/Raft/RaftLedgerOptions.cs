using System.Net;
using System.Security.Cryptography;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Ledger.Raft;

/// <summary>How one SN's ledger runs.</summary>
public sealed record RaftLedgerOptions
{
    /// <summary>Where the WAL, snapshots, membership and block archive live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The ledger's peer-to-peer endpoint (default port 30303).</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>True only for the sentinel's first start: it forms a one-member cluster and writes genesis.</summary>
    public bool ColdStart { get; init; }

    /// <summary>This SN's identity (mTLS with the other SNs).</summary>
    public required ISvidSource Identity { get; init; }

    /// <summary>This SN's long-lived ledger key: signs its blocks and transactions.</summary>
    public required ECDsa LedgerKey { get; init; }

    /// <summary>The chain id written in genesis (cold start only).</summary>
    public string ChainId { get; init; } = "swarm.local/main";

    /// <summary>Raft election timeouts in ms (lower, upper). 300 to 1200 keeps a loaded CI machine from spurious elections.</summary>
    public (int Lower, int Upper) ElectionTimeout { get; init; } = (300, 1200);

    /// <summary>The most transactions per block.</summary>
    public int MaxBlockTransactions { get; init; } = 500;

    /// <summary>This SN's SPIFFE ID.</summary>
    public SpiffeId Self => Identity.Id;
}
