using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Tests;

public sealed class AuthorityTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "swarm-authority-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private static readonly SpiffeId Node = SpiffeId.Parse("spiffe://swarm.local/sl/node1");

    private IdentityAuthority Open() => new(_directory, "swarm.local", TimeSpan.FromHours(1), _time);

    [Fact]
    public void An_issued_svid_follows_the_x509_svid_rules_and_the_ca_those_of_a_signing_ca()
    {
        using var authority = Open();
        var token = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
        var (key, csr) = SvidMaterial.NewKeyAndRequest();
        using var svid = authority.Attest(token.Secret, csr);
        key.Dispose();

        Assert.Null(SvidCertificate.LeafProblem(svid, out var id));
        Assert.Equal(Node, id);
        Assert.Equal(["spiffe://swarm.local/sl/node1"], SvidCertificate.UriSans(svid));
        Assert.Equal(_time.GetUtcNow().AddHours(1).UtcDateTime, svid.NotAfter.ToUniversalTime(), TimeSpan.FromSeconds(1));
        var ca = authority.Ca.Certificate;
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(ca.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.Equal(["spiffe://swarm.local"], SvidCertificate.UriSans(ca)); // the CA's ID has no path
        var policy = new PeerPolicy(() => new TrustBundle([ca]), _ => true, "any", _time);
        Assert.Equal(Node, policy.Check(svid, out string? reason));
        Assert.Null(reason);
    }

    [Fact]
    public void Removal_is_final_for_the_old_key_and_a_new_token_admits_only_the_new_one()
    {
        using var authority = Open();
        var (oldKey, oldCsr) = SvidMaterial.NewKeyAndRequest();
        using var old = authority.Attest(authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10)).Secret, oldCsr);
        Assert.True(authority.Remove(Node));

        // A token for the removed ID does not re-admit the old holder before it is used...
        var token = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
        var (_, renewCsr) = SvidMaterial.NewKeyAndRequest();
        Assert.Throws<IdentityRefusedException>(() => authority.Renew(old, renewCsr));
        // ...nor after: it admits the new key, and the old certificate never renews again.
        var (newKey, newCsr) = SvidMaterial.NewKeyAndRequest();
        using var fresh = authority.Attest(token.Secret, newCsr);
        Assert.Contains("not its current one", Assert.Throws<IdentityRefusedException>(() => authority.Renew(old, renewCsr)).Message, StringComparison.Ordinal);
        using var renewed = authority.Renew(fresh, renewCsr);
        using var again = authority.Renew(renewed, renewCsr);
        Assert.Throws<IdentityRefusedException>(() => authority.Renew(fresh, renewCsr)); // two generations back
        oldKey.Dispose();
        newKey.Dispose();
    }

    [Fact]
    public void A_join_token_cannot_outlive_the_servers_maximum()
    {
        using var authority = Open();
        Assert.Contains("at most 168 h", Assert.Throws<IdentityRefusedException>(() => authority.CreateJoinToken(Node, TimeSpan.FromDays(36500))).Message, StringComparison.Ordinal);
        authority.CreateJoinToken(Node, TimeSpan.FromDays(7));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(3600)]
    public void A_fresh_svid_is_renewed_after_it_was_issued_even_when_short_lived(int seconds)
    {
        using var ca = new TestCa();
        using var svid = ca.Svid("sl/a", TimeSpan.FromSeconds(seconds), ca.Time.GetUtcNow());
        var halfLife = SvidMaterial.HalfLife(svid) - ca.Time.GetUtcNow();
        // Certificates carry whole seconds, so allow a second either way.
        Assert.InRange(halfLife.TotalSeconds, seconds * 0.45 - 1, seconds * 0.5 + 1);
    }

    [Fact]
    public void The_ca_key_is_owner_only_and_survives_a_restart()
    {
        string fingerprint;
        using (var authority = Open())
        {
            fingerprint = authority.Ca.Fingerprint;
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory, "ca.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory));
        using var reopened = Open();
        Assert.Equal(fingerprint, reopened.Ca.Fingerprint);
        Assert.Contains("trust domain", Assert.Throws<Core.SwarmException>(() => new IdentityAuthority(_directory, "other.domain", TimeSpan.FromHours(1), _time)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_join_token_is_one_time_even_across_a_restart()
    {
        JoinToken token;
        using (var authority = Open())
        {
            token = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
            authority.Attest(token.Secret, SvidMaterial.NewKeyAndRequest().Csr).Dispose();
        }
        using var reopened = Open();
        var error = Assert.Throws<IdentityRefusedException>(() => reopened.Attest(token.Secret, SvidMaterial.NewKeyAndRequest().Csr));
        Assert.Contains("already used", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"refused\"", File.ReadAllText(reopened.Audit.Path), StringComparison.Ordinal);
        Assert.DoesNotContain(token.Secret, File.ReadAllText(Path.Combine(_directory, "state.json")), StringComparison.Ordinal);
        Assert.DoesNotContain(token.Secret, File.ReadAllText(reopened.Audit.Path), StringComparison.Ordinal);
    }

    [Fact]
    public void Expired_and_unknown_tokens_are_refused_with_what_to_do()
    {
        using var authority = Open();
        var token = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.Contains("expired at", Assert.Throws<IdentityRefusedException>(() => authority.Attest(token.Secret, SvidMaterial.NewKeyAndRequest().Csr)).Message, StringComparison.Ordinal);
        Assert.Contains("unknown join token", Assert.Throws<IdentityRefusedException>(() => authority.Attest("made-up", SvidMaterial.NewKeyAndRequest().Csr)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_removed_identity_cannot_renew_and_its_unused_tokens_are_void()
    {
        using var authority = Open();
        var token = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
        var spare = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
        using var svid = authority.Attest(token.Secret, SvidMaterial.NewKeyAndRequest().Csr);
        authority.Renew(svid, SvidMaterial.NewKeyAndRequest().Csr).Dispose();

        Assert.True(authority.Remove(Node));
        Assert.Contains("was removed", Assert.Throws<IdentityRefusedException>(() => authority.Renew(svid, SvidMaterial.NewKeyAndRequest().Csr)).Message, StringComparison.Ordinal);
        Assert.Contains("expired", Assert.Throws<IdentityRefusedException>(() => authority.Attest(spare.Secret, SvidMaterial.NewKeyAndRequest().Csr)).Message, StringComparison.Ordinal);
        Assert.NotNull(Assert.Single(authority.List()).RemovedAt);
    }

    [Fact]
    public void Malformed_or_weak_requests_get_an_error_that_says_what_is_wrong()
    {
        using var authority = Open();
        var token = authority.CreateJoinToken(Node, TimeSpan.FromMinutes(10));
        Assert.Contains("not a valid signed PKCS#10", Assert.Throws<IdentityRefusedException>(() => authority.Attest(token.Secret, [1, 2, 3, 4])).Message, StringComparison.Ordinal);
        Assert.Contains("empty", Assert.Throws<IdentityRefusedException>(() => authority.Attest(token.Secret, [])).Message, StringComparison.Ordinal);

        var (_, csr) = SvidMaterial.NewKeyAndRequest();
        csr[^1] ^= 0x55; // breaks the signature: the caller does not prove it holds the key
        Assert.Contains("PKCS#10", Assert.Throws<IdentityRefusedException>(() => authority.Attest(token.Secret, csr)).Message, StringComparison.Ordinal);

        using var weak = RSA.Create(1024);
        byte[] weakCsr = new CertificateRequest("CN=x", weak, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequest();
        Assert.Contains("1024 bits", Assert.Throws<IdentityRefusedException>(() => authority.Attest(token.Secret, weakCsr)).Message, StringComparison.Ordinal);

        // A refused request does not spend the token.
        authority.Attest(token.Secret, SvidMaterial.NewKeyAndRequest().Csr).Dispose();
        Assert.Throws<IdentityRefusedException>(() => authority.CreateJoinToken(SpiffeId.Parse("spiffe://other.domain/sl/x"), TimeSpan.FromMinutes(1)));
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
