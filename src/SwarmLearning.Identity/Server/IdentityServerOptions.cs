namespace SwarmLearning.Identity.Server;

/// <summary>How `swarm run-spire-server` runs.</summary>
public sealed record IdentityServerOptions
{
    /// <summary>The default port, SPIRE's.</summary>
    public const int DefaultPort = 8081;

    /// <summary>The trust domain, e.g. swarm.local.</summary>
    public string TrustDomain { get; init; } = "swarm.local";

    /// <summary>Where the CA key, state, audit log and admin socket live (created 0700).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Address to listen on.</summary>
    public string Host { get; init; } = "0.0.0.0";

    /// <summary>TCP port (0 picks a free one, reported in the ready line).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Lifetime of issued SVIDs.</summary>
    public TimeSpan SvidLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The longest time to live a join token may be given.</summary>
    public TimeSpan MaxTokenLifetime { get; init; } = Authority.IdentityAuthority.DefaultMaxTokenLifetime;

    /// <summary>The operator's Unix socket.</summary>
    public string AdminSocket => AdminSocketIn(DataDirectory);

    /// <summary>The admin socket of a server whose data is in <paramref name="dataDirectory"/>.</summary>
    public static string AdminSocketIn(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "admin.sock");
}
