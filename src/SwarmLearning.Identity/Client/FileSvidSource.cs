using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Client;

/// <summary>
/// An identity the operator brings (<c>--cert --key --capath</c>, as HPE's scripts accept). The files are re-read when
/// they change, so an external tool (a SPIRE agent helper, cert-manager, a cron job) can rotate them without a restart.
/// </summary>
public sealed class FileSvidSource : ISvidSource
{
    private readonly string _certificatePath, _keyPath, _bundlePath;
    private readonly Lock _gate = new();
    private DateTime _loadedStamp;
    private DateTime _checkedAt;
    private X509Certificate2 _current;
    private TrustBundle _bundle;

    /// <summary>Loads and checks the files: the certificate must be an X509-SVID and chain to the bundle.</summary>
    public FileSvidSource(string certificatePath, string keyPath, string bundlePath)
    {
        (_certificatePath, _keyPath, _bundlePath) = (certificatePath, keyPath, bundlePath);
        (_current, _bundle, _loadedStamp) = Load();
        Id = SvidCertificate.LeafId(_current);
        var self = new PeerPolicy(() => _bundle, _ => true, "any");
        if (self.Check(_current, out string? reason) is null)
        {
            throw new SvidException($"--cert {certificatePath} is not usable with --capath {bundlePath}: {reason}");
        }
    }

    /// <inheritdoc />
    public SpiffeId Id { get; }

    /// <inheritdoc />
    public X509Certificate2 Current
    {
        get
        {
            Refresh();
            return _current;
        }
    }

    /// <inheritdoc />
    public TrustBundle Bundle
    {
        get
        {
            Refresh();
            return _bundle;
        }
    }

    private void Refresh()
    {
        lock (_gate)
        {
            if (DateTime.UtcNow - _checkedAt < TimeSpan.FromSeconds(1))
            {
                return;
            }
            _checkedAt = DateTime.UtcNow;
            if (Stamp() == _loadedStamp)
            {
                return;
            }
            try
            {
                var (current, bundle, stamp) = Load();
                if (SvidCertificate.LeafId(current) == Id)
                {
                    (_current, _bundle, _loadedStamp) = (current, bundle, stamp);
                }
            }
            catch (Core.SwarmException)
            {
                // Mid-rotation (key written, certificate not yet): keep the pair we have and look again next time.
            }
        }
    }

    private (X509Certificate2, TrustBundle, DateTime) Load()
    {
        var stamp = Stamp();
        return (SvidMaterial.LoadPem(_certificatePath, _keyPath), TrustBundle.Load(_bundlePath), stamp);
    }

    private DateTime Stamp() => new[] { _certificatePath, _keyPath, _bundlePath }.Max(p => File.Exists(p) || Directory.Exists(p) ? File.GetLastWriteTimeUtc(p) : DateTime.MinValue);
}
