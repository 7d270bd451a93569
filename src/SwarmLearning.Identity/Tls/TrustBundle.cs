using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Tls;

/// <summary>The CA certificates a trust domain's SVIDs chain to: the only roots our TLS peers are checked against.</summary>
public sealed class TrustBundle(X509Certificate2Collection authorities)
{
    /// <summary>The root certificates.</summary>
    public X509Certificate2Collection Authorities { get; } = authorities;

    /// <summary>Reads every PEM certificate in a file, or in every *.pem/*.crt file of a folder (HPE's --capath).</summary>
    public static TrustBundle Load(string path)
    {
        var authorities = new X509Certificate2Collection();
        IEnumerable<string> files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(f => f.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".crt", StringComparison.OrdinalIgnoreCase)).Order()
            : File.Exists(path) ? [path] : throw new Core.SwarmException($"trust bundle {path} does not exist: give the CA certificate file or a folder of them (--capath)");
        foreach (string file in files)
        {
            authorities.ImportFromPemFile(file);
        }
        if (authorities.Count == 0)
        {
            throw new Core.SwarmException($"no PEM certificates found in {path}: the trust bundle must hold the CA certificate(s) that issued the swarm's certificates");
        }
        return new TrustBundle(authorities);
    }

    /// <summary>The bundle as PEM text.</summary>
    public string ToPem() => string.Concat(Authorities.Select(a => a.ExportCertificatePem() + "\n"));
}
