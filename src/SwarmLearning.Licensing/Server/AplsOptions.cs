using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Licensing.Server;

/// <summary>How `swarm run-apls` runs the licence server.</summary>
public sealed record AplsOptions
{
    /// <summary>HPE's APLS port.</summary>
    public const int DefaultPort = 5814;

    /// <summary>Installed licences and seat leases.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The server's identity (spiffe://TD/apls).</summary>
    public required ISvidSource Identity { get; init; }

    /// <summary>The issuers' public keys: a .pub file or a folder of them.</summary>
    public required string TrustedIssuers { get; init; }

    /// <summary>The address to listen on.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port (0: any free port).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>How long a seat lasts without renewal (a crashed component's seat comes back after this).</summary>
    public TimeSpan LeaseTime { get; init; } = TimeSpan.FromSeconds(60);
}
