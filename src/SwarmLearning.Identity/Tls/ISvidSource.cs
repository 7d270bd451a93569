using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Tls;

/// <summary>
/// Where a component gets its current identity: the SVID with its private key and the trust bundle. TLS code asks
/// for <see cref="Current"/> at every handshake, so a renewed SVID is used by the next connection without a restart.
/// </summary>
public interface ISvidSource
{
    /// <summary>This component's SPIFFE ID.</summary>
    SpiffeId Id { get; }

    /// <summary>The current SVID, with its private key.</summary>
    X509Certificate2 Current { get; }

    /// <summary>The trust bundle peers are checked against.</summary>
    TrustBundle Bundle { get; }
}
