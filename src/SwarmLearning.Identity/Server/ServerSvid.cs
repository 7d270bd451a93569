using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Server;

/// <summary>The identity server's own TLS identity (<c>/spire/server</c>), issued by its CA and reissued at half-life.</summary>
internal sealed class ServerSvid(IdentityAuthority authority, TimeProvider time) : ISvidSource
{
    private readonly Lock _gate = new();
    private X509Certificate2? _current;

    public SpiffeId Id { get; } = SwarmIdentities.IdentityServer(authority.Ca.TrustDomain.TrustDomain);

    public TrustBundle Bundle { get; } = new([authority.Ca.Certificate]);

    public X509Certificate2 Current
    {
        get
        {
            lock (_gate)
            {
                if (_current is null || time.GetUtcNow() >= SvidMaterial.HalfLife(_current))
                {
                    _current = authority.IssueOwn(Id); // the old one may still be in use by a handshake: left to the GC
                }
                return _current;
            }
        }
    }
}
