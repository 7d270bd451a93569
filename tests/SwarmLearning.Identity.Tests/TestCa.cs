using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Tests;

/// <summary>A CA in a temporary folder, and SVIDs from it as TLS credentials: for in-process TLS tests.</summary>
internal sealed class TestCa : IDisposable
{
    public TestCa(string trustDomain = "swarm.local")
    {
        Directory = Path.Combine(Path.GetTempPath(), "swarm-ca-" + Guid.NewGuid().ToString("N")[..8]);
        Time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        Authority = CertificateAuthority.OpenOrCreate(Directory, trustDomain, Time);
    }

    public string Directory { get; }

    public FakeTimeProvider Time { get; }

    public CertificateAuthority Authority { get; }

    public TrustBundle Bundle => new([Authority.Certificate]);

    /// <summary>An SVID with its key for <paramref name="path"/>, valid from <paramref name="notBefore"/> (default now) for <paramref name="lifetime"/>.</summary>
    public X509Certificate2 Svid(string path, TimeSpan? lifetime = null, DateTimeOffset? notBefore = null)
    {
        var id = SpiffeId.Parse($"spiffe://{Authority.TrustDomain.TrustDomain}/{path}");
        return Authority.IssueCredential(id, lifetime ?? TimeSpan.FromHours(1), notBefore ?? DateTimeOffset.UtcNow);
    }

    /// <summary>A source that always answers <paramref name="certificate"/>.</summary>
    public ISvidSource Source(X509Certificate2 certificate) => new StaticSvidSource(certificate, Bundle);

    /// <summary>A source that always answers <paramref name="certificate"/> and trusts <paramref name="bundle"/>.</summary>
    public static ISvidSource Fixed(X509Certificate2 certificate, TrustBundle bundle) => new StaticSvidSource(certificate, bundle);

    public void Dispose()
    {
        Authority.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Signs an arbitrary leaf with a CA key in <paramref name="caDirectory"/> (to build certificates our CA would never issue).</summary>
    public static X509Certificate2 Forge(string caDirectory, Action<CertificateRequest> extensions, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var caKey = ECDsa.Create();
        caKey.ImportFromPem(File.ReadAllText(Path.Combine(caDirectory, "ca.key")));
        using var caCertificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(caDirectory, "ca.crt"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged", key, HashAlgorithmName.SHA256);
        extensions(request);
        using var leaf = request.Create(caCertificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, notAfter, RandomNumberGenerator.GetBytes(8));
        return SvidMaterial.WithKey(leaf, key);
    }

    /// <summary>The usual leaf extensions with <paramref name="uris"/> as SAN.</summary>
    public static Action<CertificateRequest> LeafWith(params string[] uris) => request =>
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var san = new SubjectAlternativeNameBuilder();
        foreach (string uri in uris)
        {
            san.AddUri(new Uri(uri));
        }
        request.CertificateExtensions.Add(san.Build());
    };
}
