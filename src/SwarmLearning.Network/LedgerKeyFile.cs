using System.Security.Cryptography;

namespace SwarmLearning.Network;

/// <summary>A node's long-lived ledger key (SN or SL), <c>ledger.key</c> (owner-only), created on first start.</summary>
public static class LedgerKeyFile
{
    /// <summary>Loads the key in <paramref name="directory"/>, creating it if there is none.</summary>
    public static ECDsa OpenOrCreate(string directory)
    {
        string path = Path.Combine(directory, "ledger.key");
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(path))
        {
            key.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            Identity.OwnerOnlyFile.WriteText(path, key.ExportPkcs8PrivateKeyPem());
        }
        return key;
    }
}
