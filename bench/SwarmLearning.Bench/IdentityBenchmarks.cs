using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Bench;

/// <summary>
/// SVID issuance (CSR check + signing) against its floor, one ECDSA P-256 verify and one sign; and the TLS handshake
/// over loopback: TCP connect alone, server-authenticated TLS, and mutual TLS with SPIFFE checks on both sides.
/// </summary>
public class IdentityBenchmarks
{
    private const int Issuances = 200;
    private const int Handshakes = 50;
    private string _directory = "";
    private CertificateAuthority _ca = null!;
    private byte[] _csr = [];
    private ECDsa _key = null!;
    private byte[] _digest = [];
    private byte[] _signature = [];
    private X509Certificate2 _serverSvid = null!, _clientSvid = null!;
    private PeerPolicy _policy = null!;
    private TcpListener _listener = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "swarm-bench-ca-" + Guid.NewGuid().ToString("N")[..8]);
        _ca = CertificateAuthority.OpenOrCreate(_directory, "swarm.local", TimeProvider.System);
        (_key, _csr) = SvidMaterial.NewKeyAndRequest();
        _digest = SHA256.HashData(_csr);
        _signature = _key.SignHash(_digest);
        _serverSvid = Svid("sn/server");
        _clientSvid = Svid("sl/client");
        _policy = new PeerPolicy(() => new TrustBundle([_ca.Certificate]), _ => true, "any");
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Issuances, Description = "floor: ECDSA P-256 verify + sign")]
    public bool VerifyAndSign()
    {
        bool ok = true;
        for (int i = 0; i < Issuances; i++)
        {
            ok &= _key.VerifyHash(_digest, _signature);
            ok &= _key.SignHash(_digest).Length > 0;
        }
        return ok;
    }

    [Benchmark(OperationsPerInvoke = Issuances, Description = "issue an X509-SVID from a CSR")]
    public int Issue()
    {
        int total = 0;
        var id = SpiffeId.Parse("spiffe://swarm.local/sl/node1");
        for (int i = 0; i < Issuances; i++)
        {
            using var svid = _ca.Issue(id, _csr, TimeSpan.FromHours(1), DateTimeOffset.UtcNow);
            total += svid.RawData.Length;
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Handshakes, Description = "TCP connect only (loopback)")]
    public async Task TcpConnect()
    {
        for (int i = 0; i < Handshakes; i++)
        {
            var (client, server) = await Connect();
            client.Dispose();
            server.Dispose();
        }
    }

    [Benchmark(OperationsPerInvoke = Handshakes, Description = "TLS handshake, server certificate only")]
    public Task ServerOnlyTls() => Handshake(mutual: false);

    [Benchmark(OperationsPerInvoke = Handshakes, Description = "mTLS handshake + SPIFFE checks both sides")]
    public Task MutualTls() => Handshake(mutual: true);

    private async Task Handshake(bool mutual)
    {
        for (int i = 0; i < Handshakes; i++)
        {
            var (clientSocket, serverSocket) = await Connect();
            using var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: true));
            using var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: true));
            var serverOptions = new SslServerAuthenticationOptions
            {
                ServerCertificate = _serverSvid,
                ClientCertificateRequired = mutual,
                AllowTlsResume = false,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => !mutual || _policy.Check(certificate, out _) is not null,
            };
            var clientOptions = new SslClientAuthenticationOptions
            {
                TargetHost = "swarm",
                AllowTlsResume = false,
                ClientCertificates = mutual ? [_clientSvid] : null,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => !mutual || _policy.Check(certificate, out _) is not null,
            };
            await Task.WhenAll(server.AuthenticateAsServerAsync(serverOptions), client.AuthenticateAsClientAsync(clientOptions));
        }
    }

    private async Task<(Socket Client, Socket Server)> Connect()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = _listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)_listener.LocalEndpoint);
        return (client, await accept);
    }

    private X509Certificate2 Svid(string path) =>
        _ca.IssueCredential(SpiffeId.Parse("spiffe://swarm.local/" + path), TimeSpan.FromHours(1), DateTimeOffset.UtcNow);

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener.Stop();
        _ca.Dispose();
        _key.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
