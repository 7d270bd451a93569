using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Authority;

/// <summary>
/// The trust domain's certificate authority: an ECDSA P-256 root (key in <c>ca.key</c>, owner-only, created on first
/// start) that signs X509-SVIDs from certificate signing requests. A CSR conveys only the public key: the SPIFFE ID,
/// lifetime and every extension are decided here, as in SPIRE.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(5 * 365);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);
    private readonly ECDsa _key;

    private CertificateAuthority(SpiffeId trustDomain, X509Certificate2 certificate, ECDsa key)
    {
        TrustDomain = trustDomain;
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The trust domain (as a SPIFFE ID with no path).</summary>
    public SpiffeId TrustDomain { get; }

    /// <summary>The root certificate: the trust bundle.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SHA-256 of the root certificate (hex): what a join token pins so a node can trust the server at first contact.</summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(Certificate.RawData));

    /// <summary>Loads the CA from <paramref name="directory"/>, creating it on first start for <paramref name="trustDomain"/>.</summary>
    public static CertificateAuthority OpenOrCreate(string directory, string trustDomain, TimeProvider time)
    {
        var domain = SpiffeId.ForTrustDomain(trustDomain);
        string keyPath = Path.Combine(directory, "ca.key"), certificatePath = Path.Combine(directory, "ca.crt");
        if (File.Exists(keyPath) && File.Exists(certificatePath))
        {
            var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(keyPath));
            var certificate = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
            var existing = SvidCertificate.UriSans(certificate).SingleOrDefault();
            if (existing != domain.ToString())
            {
                throw new Core.SwarmException($"the CA in {directory} is for trust domain '{existing}', not '{domain}': use --trust-domain {existing?.Replace("spiffe://", "", StringComparison.Ordinal)} or another --data-dir");
            }
            return new CertificateAuthority(domain, certificate, key);
        }
        var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Swarm Learning CA, O={trustDomain}", newKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(SvidCertificate.UriSan(domain));
        var now = time.GetUtcNow();
        using var selfSigned = request.CreateSelfSigned(now - ClockSkew, now + CaLifetime);
        var publicOnly = X509CertificateLoader.LoadCertificate(selfSigned.RawData);
        OwnerOnlyFile.WriteText(keyPath, newKey.ExportPkcs8PrivateKeyPem());
        OwnerOnlyFile.WriteText(certificatePath, publicOnly.ExportCertificatePem());
        return new CertificateAuthority(domain, publicOnly, newKey);
    }

    /// <summary>
    /// Signs an X509-SVID for <paramref name="id"/> over the public key in <paramref name="csrDer"/> (PKCS#10, DER),
    /// after checking the request's own signature (proof that the caller holds the key).
    /// </summary>
    public X509Certificate2 Issue(SpiffeId id, byte[] csrDer, TimeSpan lifetime, DateTimeOffset now)
    {
        var publicKey = ReadRequestKey(csrDer);
        return Issue(id, publicKey, lifetime, now);
    }

    /// <summary>Creates a key here and an X509-SVID for it: a TLS credential for a component that runs beside the CA.</summary>
    public X509Certificate2 IssueCredential(SpiffeId id, TimeSpan lifetime, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issued = Issue(id, new CertificateRequest("CN=swarm", key, HashAlgorithmName.SHA256).PublicKey, lifetime, now);
        return Tls.SvidMaterial.WithKey(issued, key);
    }

    /// <summary>Signs an X509-SVID for <paramref name="id"/> over <paramref name="publicKey"/>.</summary>
    public X509Certificate2 Issue(SpiffeId id, PublicKey publicKey, TimeSpan lifetime, DateTimeOffset now)
    {
        if (id.TrustDomain != TrustDomain.TrustDomain || id.IsTrustDomain)
        {
            throw new SvidException($"cannot issue '{id}': this CA issues workload IDs in trust domain '{TrustDomain.TrustDomain}' only");
        }
        // Backdated for clock skew, but by a tenth of the lifetime at most: a short-lived SVID's half-life (when its
        // holder renews) must stay ahead of the time it was issued.
        var notBefore = now - TimeSpan.FromTicks(Math.Min(ClockSkew.Ticks, lifetime.Ticks / 10));
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter;
        }
        var request = new CertificateRequest(new X500DistinguishedName($"O=Swarm Learning, OU={id.Segments[0]}"), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        request.CertificateExtensions.Add(SvidCertificate.UriSan(id, critical: false));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        var generator = X509SignatureGenerator.CreateForECDsa(_key);
        return request.Create(Certificate.SubjectName, generator, notBefore, notAfter, serial);
    }

    /// <summary>Reads and checks a PKCS#10 request, returning its public key or throwing a <see cref="CsrException"/>.</summary>
    public static PublicKey ReadRequestKey(byte[] csrDer)
    {
        if (csrDer is null || csrDer.Length == 0)
        {
            throw new CsrException("the certificate signing request is empty: send a PKCS#10 request in DER form");
        }
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequest(csrDer, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        }
        catch (CryptographicException e)
        {
            throw new CsrException($"the certificate signing request is not a valid signed PKCS#10 request ({e.Message}): create it with the node's own key, e.g. CertificateRequest.CreateSigningRequest()");
        }
        string algorithm = request.PublicKey.Oid.Value ?? "";
        if (algorithm == "1.2.840.10045.2.1")
        {
            using var ec = request.PublicKey.GetECDsaPublicKey()!;
            if (ec.KeySize < 256)
            {
                throw new CsrException($"the request's EC key is {ec.KeySize} bits; use P-256 or stronger");
            }
        }
        else if (algorithm == "1.2.840.113549.1.1.1")
        {
            using var rsa = request.PublicKey.GetRSAPublicKey()!;
            if (rsa.KeySize < 2048)
            {
                throw new CsrException($"the request's RSA key is {rsa.KeySize} bits; use 2048 or more, or EC P-256");
            }
        }
        else
        {
            throw new CsrException($"the request's key algorithm {algorithm} is not supported; use EC P-256 (or RSA 2048+)");
        }
        return request.PublicKey;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }
}

/// <summary>Signals a malformed or unacceptable certificate signing request.</summary>
public sealed class CsrException(string message) : Core.SwarmException(message);
