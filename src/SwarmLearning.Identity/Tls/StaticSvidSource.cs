using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Tls;

/// <summary>An identity that does not change: one SVID (with its key) and one bundle, e.g. issued in-process by a local CA.</summary>
public sealed class StaticSvidSource(X509Certificate2 svid, TrustBundle bundle) : ISvidSource
{
    /// <inheritdoc />
    public SpiffeId Id { get; } = SvidCertificate.LeafId(svid);

    /// <inheritdoc />
    public X509Certificate2 Current => svid;

    /// <inheritdoc />
    public TrustBundle Bundle => bundle;
}
