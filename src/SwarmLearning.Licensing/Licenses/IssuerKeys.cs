using System.Security.Cryptography;
using SwarmLearning.Identity;

namespace SwarmLearning.Licensing.Licenses;

/// <summary>The licence issuers a server trusts: ECDSA P-256 public keys (PEM), by key id.</summary>
public sealed class IssuerKeys
{
    private readonly Dictionary<string, ECDsa> _keys = new(StringComparer.Ordinal);

    /// <summary>The trusted key ids.</summary>
    public IReadOnlyCollection<string> Ids => _keys.Keys;

    /// <summary>The key id: the first 16 hex digits of the SHA-256 of the public key (SubjectPublicKeyInfo).</summary>
    public static string KeyId(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    /// <summary>Loads every *.pub (PEM public key) in <paramref name="path"/>, a file or a folder.</summary>
    public static IssuerKeys Load(string path)
    {
        var keys = new IssuerKeys();
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.pub") : File.Exists(path) ? [path] : [];
        foreach (string file in files)
        {
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(File.ReadAllText(file));
            }
            catch (ArgumentException e)
            {
                throw new LicenseException($"{file} is not a PEM public key ({e.Message})");
            }
            keys._keys[KeyId(key)] = key;
        }
        return keys;
    }

    /// <summary>The key with <paramref name="keyId"/>, if trusted.</summary>
    public ECDsa? Find(string keyId) => _keys.GetValueOrDefault(keyId);

    /// <summary>
    /// An issuer's signing key at <paramref name="privateKeyPath"/> (owner-only), created with its public key beside it
    /// (<c>.pub</c>) if missing: for operators and for a local swarm.
    /// </summary>
    public static ECDsa OpenOrCreateSigningKey(string privateKeyPath)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(privateKeyPath))
        {
            key.ImportFromPem(File.ReadAllText(privateKeyPath));
        }
        else
        {
            OwnerOnlyFile.WriteText(privateKeyPath, key.ExportPkcs8PrivateKeyPem());
        }
        string publicPath = Path.ChangeExtension(privateKeyPath, ".pub");
        if (!File.Exists(publicPath))
        {
            File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
        }
        return key;
    }
}
