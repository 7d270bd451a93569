using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Real processes for the security tests (docs/security.md): an identity server, a licence server, two SNs (the
/// sentinel and one more) and an SL node, plus SVIDs for every kind of caller the authorization matrix names.
/// </summary>
public sealed class SecuritySwarm : IAsyncLifetime
{
    /// <summary>The test collection that shares one such swarm (its tests run one after another).</summary>
    public const string Collection = "security swarm";

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "swarm-sec-" + Guid.NewGuid().ToString("N")[..8]);

    public string IdentityAddress { get; private set; } = "";

    public Dictionary<string, int> Ports { get; } = [];

    public Dictionary<string, ISvidSource?> Callers { get; } = [];

    internal List<SwarmProcess> Processes { get; } = [];

    internal SwarmProcess Sentinel => Processes[2];

    private string IdentityData => Path.Combine(Root, "id");

    public async Task InitializeAsync()
    {
        foreach (string port in new[] { "apls", "sn1-ledger", "sn1-api", "sn1-files", "sn2-ledger", "sn2-api", "sn2-files", "sl-files" })
        {
            Ports[port] = Loopback.FreePort();
        }
        var identity = SwarmProcess.Start("run-spire-server", "--data-dir", IdentityData, "--host", "127.0.0.1", "--port", "0");
        Processes.Add(identity);
        IdentityAddress = "127.0.0.1:" + (await identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)")).Groups[1].Value;

        string apls = Path.Combine(Root, "apls");
        var (issued, issueOutput) = await SwarmProcess.RunAsync("license", "issue", "--issuer-key", Path.Combine(Root, "issuers", "issuer.key"), "--licensee", "test", "--seats", "20", "--out", Path.Combine(Root, "lic.json"));
        Assert.True(issued == 0, issueOutput);
        var (installed, installOutput) = await SwarmProcess.RunAsync("license", "install", Path.Combine(Root, "lic.json"), "--data-dir", apls, "--trusted-issuer", Path.Combine(Root, "issuers"));
        Assert.True(installed == 0, installOutput);
        var licence = SwarmProcess.Start(new Dictionary<string, string> { ["SWARM_JOIN_TOKEN"] = await Token("apls") },
            "run-apls", "--data-dir", apls, "--host", "127.0.0.1", "--port", $"{Ports["apls"]}", "--trusted-issuer", Path.Combine(Root, "issuers"), "--identity-server", IdentityAddress);
        Processes.Add(licence);
        await licence.WaitForAsync("licence server listening");

        Processes.Add(await StartSn("sn1", sentinel: true));
        Processes.Add(await StartSn("sn2", sentinel: false));
        var sl = SwarmProcess.Start(new Dictionary<string, string> { ["SWARM_JOIN_TOKEN"] = await Token("sl/node9") },
            "run-sl", "--name", "node9", "--data-dir", Path.Combine(Root, "node9"), "--host", "127.0.0.1", "--sl-fs-port", $"{Ports["sl-files"]}",
            "--sn-ip", "127.0.0.1", "--sn-api-port", $"{Ports["sn1-api"]}", "--identity-server", IdentityAddress, "--apls", $"127.0.0.1:{Ports["apls"]}");
        Processes.Add(sl);
        await sl.WaitForAsync("SL ready");

        Callers["no certificate"] = null;
        Callers["other CA"] = ForeignSvid("spiffe://swarm.local/sl/node1");
        Callers["admitted SN"] = new FileSvidSource(Path.Combine(Root, "sn1", "identity", "svid.crt"), Path.Combine(Root, "sn1", "identity", "svid.key"), Path.Combine(Root, "sn1", "identity", "bundle.crt"));
        foreach (var (caller, id) in new[]
        {
            ("non-admitted SN", "sn/rogue"), ("SL", "sl/node1"), ("nested SL path", "sl/siteb/node1"), ("swci operator", "swci/ops"), ("apls", "apls"), ("unknown path", "other/x"),
        })
        {
            Callers[caller] = await Svid(id);
        }
    }

    /// <summary>A fresh SVID for spiffe://swarm.local/<paramref name="path"/> from the identity server.</summary>
    public async Task<ISvidSource> Svid(string path)
    {
        var folder = new SvidFolder(Path.Combine(Root, "callers", path.Replace('/', '_')));
        using (await new IdentityClient(IdentityAddress).AttestAsync(JoinToken.Parse(await Token(path)), folder)) { }
        return new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
    }

    public Task<string> Token(string path) => SwarmProcess.CreateJoinTokenAsync(IdentityData, "spiffe://swarm.local/" + path);

    /// <summary>An HTTP client presenting <paramref name="caller"/>'s SVID (or none) and trusting any server of the swarm's CA.</summary>
    public HttpClient Client(ISvidSource? caller)
    {
        var bundle = TrustBundle.Load(Path.Combine(IdentityData, "ca.crt"));
        var servers = new PeerPolicy(() => bundle, _ => true, "any SVID of the swarm");
        return new HttpClient(MutualTls.Handler(caller, servers)) { Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Url(string port, string path) => $"https://127.0.0.1:{Ports[port]}{path}";

    /// <summary>Opens a TLS connection to a Raft port as <paramref name="caller"/>: "open" if the server keeps it, "refused" if it drops it.</summary>
    public async Task<string> RaftHandshake(ISvidSource? caller, string port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Ports[port]);
        await using var tls = new SslStream(tcp.GetStream());
        try
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = "sn",
                EnabledSslProtocols = MutualTls.Protocols,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
                LocalCertificateSelectionCallback = (_, _, _, _, _) => caller?.Current!,
            };
            await tls.AuthenticateAsClientAsync(options);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            // TLS 1.3 checks the client's certificate after the client's side is done: a refusal arrives as an alert or EOF.
            int read = await tls.ReadAsync(new byte[1], wait.Token);
            return read == 0 ? "refused" : "open";
        }
        catch (OperationCanceledException)
        {
            return "open";
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or SocketException)
        {
            return "refused";
        }
    }

    private async Task<SwarmProcess> StartSn(string name, bool sentinel)
    {
        var arguments = new List<string>
        {
            "run-sn", "--name", name, "--data-dir", Path.Combine(Root, name), "--host", "127.0.0.1", "--ledger-port", $"{Ports[name + "-ledger"]}",
            "--api-port", $"{Ports[name + "-api"]}", "--sn-fs-port", $"{Ports[name + "-files"]}", "--identity-server", IdentityAddress, "--apls", $"127.0.0.1:{Ports["apls"]}",
        };
        arguments.AddRange(sentinel ? ["--sentinel"] : ["--sentinel-ip", "127.0.0.1", "--sentinel-api-port", $"{Ports["sn1-api"]}"]);
        var sn = SwarmProcess.Start(new Dictionary<string, string> { ["SWARM_JOIN_TOKEN"] = await Token("sn/" + name) }, [.. arguments]);
        await sn.WaitForAsync("SN ready", TimeSpan.FromSeconds(120));
        return sn;
    }

    private ISvidSource ForeignSvid(string id)
    {
        string directory = Path.Combine(Root, "foreign-ca");
        using var ca = CertificateAuthority.OpenOrCreate(directory, "swarm.local", TimeProvider.System);
        var certificate = ca.IssueCredential(SpiffeId.Parse(id), TimeSpan.FromHours(1), DateTimeOffset.UtcNow);
        return new StaticSvidSource(certificate, new TrustBundle([X509CertificateLoader.LoadCertificate(ca.Certificate.RawData)]));
    }

    public async Task DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(Processes))
        {
            await process.DisposeAsync();
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a process may still be writing its last log line
        }
    }
}

/// <summary>One <see cref="SecuritySwarm"/> for the matrix and the hardening tests: started once, not once per class.</summary>
[CollectionDefinition(SecuritySwarm.Collection)]
public sealed class SecuritySwarmCollection : ICollectionFixture<SecuritySwarm>;
