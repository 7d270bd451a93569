using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Tests;

/// <summary>Certificates a node brings (--cert --key --capath): checked at start, re-read when rotated on disk.</summary>
public sealed class FileSvidSourceTests : IDisposable
{
    private readonly TestCa _ca = new();
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "swarm-byo-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Own_certificates_are_used_and_reloaded_when_the_files_change()
    {
        var store = new SvidFolder(_folder);
        Save(store, _ca.Svid("sl/mine"));
        var source = new FileSvidSource(store.CertificatePath, store.KeyPath, _folder); // --capath: a folder of PEM files
        Assert.Equal("spiffe://swarm.local/sl/mine", source.Id.ToString());
        string first = source.Current.SerialNumber;
        Assert.True(source.Current.HasPrivateKey);

        await Task.Delay(1100); // the source looks at the files at most once a second
        Save(store, _ca.Svid("sl/mine"));
        File.SetLastWriteTimeUtc(store.CertificatePath, DateTime.UtcNow.AddSeconds(2));
        Assert.NotEqual(first, source.Current.SerialNumber);
    }

    [Fact]
    public void Certificates_that_do_not_fit_the_bundle_are_refused_at_start()
    {
        using var other = new TestCa();
        var store = new SvidFolder(_folder);
        Save(store, other.Svid("sl/mine"));
        File.WriteAllText(store.BundlePath, _ca.Authority.Certificate.ExportCertificatePem());
        var error = Assert.Throws<SvidException>(() => new FileSvidSource(store.CertificatePath, store.KeyPath, store.BundlePath));
        Assert.Contains("does not chain", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<Core.SwarmException>(() => new FileSvidSource("/nonexistent.crt", store.KeyPath, store.BundlePath)).Message, StringComparison.Ordinal);
    }

    private void Save(SvidFolder store, System.Security.Cryptography.X509Certificates.X509Certificate2 svid)
    {
        using var key = svid.GetECDsaPrivateKey()!;
        store.Save(svid, key, _ca.Bundle);
    }

    public void Dispose()
    {
        _ca.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
