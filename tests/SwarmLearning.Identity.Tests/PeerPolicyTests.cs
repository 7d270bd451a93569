using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Tests;

public sealed class PeerPolicyTests : IDisposable
{
    private readonly TestCa _ca = new();
    private readonly TestCa _otherCa = new();

    private PeerPolicy SlOnly() => PeerPolicy.Under(_ca.Source(_ca.Svid("sn/me")), "sl");

    [Fact]
    public void Accepts_an_allowed_svid_from_the_bundle()
    {
        Assert.Equal("spiffe://swarm.local/sl/a", SlOnly().Check(_ca.Svid("sl/a"), out _)?.ToString());
    }

    [Fact]
    public void Refuses_each_kind_of_bad_peer_saying_why()
    {
        var policy = SlOnly();
        Assert.Contains("no client certificate", Reason(policy, null), StringComparison.Ordinal);
        Assert.Contains("does not chain to this swarm's trust bundle", Reason(policy, _otherCa.Svid("sl/a")), StringComparison.Ordinal);
        Assert.Contains("may not use this endpoint; it accepts spiffe://swarm.local/sl/*", Reason(policy, _ca.Svid("sn/b")), StringComparison.Ordinal);
        var expired = _ca.Svid("sl/a", TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Contains("expired at", Reason(policy, expired), StringComparison.Ordinal);
        var twoUris = TestCa.Forge(_ca.Directory, TestCa.LeafWith("spiffe://swarm.local/sl/a", "spiffe://swarm.local/sl/b"),
            DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        Assert.Contains("exactly one", Reason(policy, twoUris), StringComparison.Ordinal);
        var otherDomain = TestCa.Forge(_ca.Directory, TestCa.LeafWith("spiffe://evil.domain/sl/a"), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        Assert.Contains("may not use this endpoint", Reason(policy, otherDomain), StringComparison.Ordinal);
    }

    private static string Reason(PeerPolicy policy, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        Assert.Null(policy.Check(certificate, out string? reason));
        return reason!;
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
    }
}
