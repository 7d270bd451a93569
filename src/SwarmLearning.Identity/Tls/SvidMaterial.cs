using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tls;

/// <summary>Key and certificate plumbing shared by the SVID sources.</summary>
public static class SvidMaterial
{
    /// <summary>A fresh P-256 key and a CSR for it (the subject is ignored: the server decides every attribute).</summary>
    public static (ECDsa Key, byte[] Csr) NewKeyAndRequest()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=swarm", key, HashAlgorithmName.SHA256);
        return (key, request.CreateSigningRequest());
    }

    /// <summary>
    /// Joins a certificate and its private key into one usable by SslStream. Round-tripped through PKCS#12 because
    /// on Linux a CopyWithPrivateKey result is not reliably usable as a TLS credential.
    /// </summary>
    public static X509Certificate2 WithKey(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        using var joined = key switch
        {
            ECDsa ec => certificate.CopyWithPrivateKey(ec),
            RSA rsa => certificate.CopyWithPrivateKey(rsa),
            _ => throw new Core.SwarmException($"unsupported private key type {key.GetType().Name}: use an EC P-256 or RSA key"),
        };
        return X509CertificateLoader.LoadPkcs12(joined.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    /// <summary>Loads a PEM certificate and PEM private key (PKCS#8, SEC1 or PKCS#1) as a TLS credential.</summary>
    public static X509Certificate2 LoadPem(string certificatePath, string keyPath)
    {
        if (!File.Exists(certificatePath))
        {
            throw new Core.SwarmException($"certificate file {certificatePath} does not exist");
        }
        if (!File.Exists(keyPath))
        {
            throw new Core.SwarmException($"key file {keyPath} does not exist");
        }
        try
        {
            using var loaded = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException e)
        {
            throw new Core.SwarmException($"cannot use {certificatePath} with key {keyPath}: {e.Message} (the key must be the certificate's, in PEM)");
        }
    }

    /// <summary>The middle of a certificate's validity: when it should be renewed.</summary>
    public static DateTimeOffset HalfLife(X509Certificate2 certificate)
    {
        var from = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var to = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        return from + (to - from) / 2;
    }
}
