namespace SwarmLearning.Identity.Spiffe;

/// <summary>
/// The SPIFFE ID paths the swarm's components use, so that every endpoint can say which callers it accepts
/// (docs/identity.md): <c>/sn/NAME</c> Swarm Network nodes, <c>/sl/NAME</c> Swarm Learning nodes, <c>/apls</c> the
/// licence server, <c>/swci/NAME</c> command interfaces, <c>/spire/server</c> the identity server itself.
/// </summary>
public static class SwarmIdentities
{
    /// <summary>Path prefix of Swarm Network nodes.</summary>
    public const string SwarmNetwork = "sn";

    /// <summary>Path prefix of Swarm Learning nodes.</summary>
    public const string SwarmLearning = "sl";

    /// <summary>Path prefix of command interfaces.</summary>
    public const string CommandInterface = "swci";

    /// <summary>The licence server's path.</summary>
    public const string LicenceServer = "apls";

    /// <summary>The identity server's own ID in <paramref name="trustDomain"/>.</summary>
    public static SpiffeId IdentityServer(string trustDomain) => SpiffeId.ForTrustDomain(trustDomain).InDomain("spire", "server");

    /// <summary>An SN node's ID.</summary>
    public static SpiffeId SnNode(string trustDomain, string name) => SpiffeId.ForTrustDomain(trustDomain).InDomain(SwarmNetwork, name);

    /// <summary>
    /// The contract node name of an SL identity: NAME for exactly <c>spiffe://TD/sl/NAME</c>, null for anything else
    /// (a nested path such as <c>/sl/siteb/node1</c> is no node, so one name never stands for two identities).
    /// </summary>
    public static string? SlNodeName(SpiffeId id) => id.Segments is [SwarmLearning, var name] ? name : null;

    /// <summary>The SN name of an SN identity: NAME for exactly <c>spiffe://TD/sn/NAME</c>, otherwise null.</summary>
    public static string? SnName(SpiffeId id) => id.Segments is [SwarmNetwork, var name] ? name : null;

    /// <summary>An SL node's ID.</summary>
    public static SpiffeId SlNode(string trustDomain, string name) => SpiffeId.ForTrustDomain(trustDomain).InDomain(SwarmLearning, name);
}
