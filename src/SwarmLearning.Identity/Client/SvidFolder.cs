using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Client;

/// <summary>
/// A node's identity on disk: <c>svid.key</c> (owner-only), <c>svid.crt</c> and <c>bundle.crt</c>, each replaced
/// atomically, the key before the certificate, so a crash mid-renewal leaves the old pair or the new one usable.
/// </summary>
public sealed class SvidFolder(string directory)
{
    /// <summary>The folder.</summary>
    public string Directory => directory;

    /// <summary>The private key file.</summary>
    public string KeyPath => Path.Combine(directory, "svid.key");

    /// <summary>The certificate file (PEM).</summary>
    public string CertificatePath => Path.Combine(directory, "svid.crt");

    /// <summary>The trust bundle file (PEM), usable as <c>openssl verify -CAfile</c>.</summary>
    public string BundlePath => Path.Combine(directory, "bundle.crt");

    /// <summary>Whether a certificate, key and bundle are present.</summary>
    public bool Exists => File.Exists(KeyPath) && File.Exists(CertificatePath) && File.Exists(BundlePath);

    /// <summary>Writes a new SVID with its key and the bundle.</summary>
    public void Save(X509Certificate2 certificate, ECDsa key, TrustBundle bundle)
    {
        // Key and certificate go to new names first, then both are renamed: a reader never sees a mismatched pair
        // for longer than between two renames, and a crash leaves at worst the old pair.
        OwnerOnlyFile.WriteText(KeyPath + ".new", key.ExportPkcs8PrivateKeyPem());
        OwnerOnlyFile.WriteText(CertificatePath + ".new", certificate.ExportCertificatePem());
        OwnerOnlyFile.WriteText(BundlePath, bundle.ToPem());
        File.Move(KeyPath + ".new", KeyPath, overwrite: true);
        File.Move(CertificatePath + ".new", CertificatePath, overwrite: true);
    }

    /// <summary>Loads the SVID (with its key) and the bundle.</summary>
    public (X509Certificate2 Svid, TrustBundle Bundle) Load() =>
        (SvidMaterial.LoadPem(CertificatePath, KeyPath), TrustBundle.Load(BundlePath));
}
