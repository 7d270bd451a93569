using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Protocol;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Tests;

/// <summary>The real identity server process on loopback: issuance, refusals, renewal, mTLS policy, resilience.</summary>
public sealed class IdentityServerProcessTests(IdentityServerFixture server) : IClassFixture<IdentityServerFixture>, IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "swarm-node-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_node_gets_an_svid_with_a_join_token_that_openssl_verifies()
    {
        string token = await server.CreateTokenAsync("spiffe://swarm.local/sl/node1");
        var (exitCode, output) = await SwarmProcess.RunAsync("identity", "fetch", "--server", server.Address, "--join-token", token, "--out", _work);
        Assert.True(exitCode == 0, output);
        var folder = new SvidFolder(_work);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(folder.KeyPath));

        var (verified, verifyOutput) = await OpenSsl("verify", "-CAfile", folder.BundlePath, folder.CertificatePath);
        Assert.True(verified == 0, verifyOutput);
        Assert.Contains(": OK", verifyOutput, StringComparison.Ordinal);
        var (_, text) = await OpenSsl("x509", "-in", folder.CertificatePath, "-noout", "-text");
        Assert.Contains("URI:spiffe://swarm.local/sl/node1", text, StringComparison.Ordinal);
        Assert.Contains("CA:FALSE", text, StringComparison.Ordinal);
        Assert.Contains("Digital Signature", text, StringComparison.Ordinal);
        Assert.Contains("\"issued\"", server.AuditLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reused_expired_and_unknown_tokens_are_refused()
    {
        var client = new IdentityClient(server.Address);
        var token = JoinToken.Parse(await server.CreateTokenAsync("spiffe://swarm.local/sl/node2"));
        (await client.AttestAsync(token, new SvidFolder(_work))).Dispose();

        var reused = await Assert.ThrowsAsync<IdentityCallException>(() => client.AttestAsync(token, new SvidFolder(_work + "-b")));
        Assert.Equal(StatusCode.PermissionDenied, reused.Status);
        Assert.Contains("already used", reused.Message, StringComparison.Ordinal);

        var shortLived = JoinToken.Parse(await server.CreateTokenAsync("spiffe://swarm.local/sl/node3", ttl: "1s"));
        await Task.Delay(1500);
        Assert.Contains("expired at", (await Assert.ThrowsAsync<IdentityCallException>(() => client.AttestAsync(shortLived, new SvidFolder(_work + "-c")))).Message, StringComparison.Ordinal);

        var unknown = new JoinToken("never-issued", token.CaFingerprint);
        Assert.Contains("unknown join token", (await Assert.ThrowsAsync<IdentityCallException>(() => client.AttestAsync(unknown, new SvidFolder(_work + "-d")))).Message, StringComparison.Ordinal);

        var wrongServer = new JoinToken(token.Secret, new string('0', 64));
        Assert.Contains("does not match the join token's CA fingerprint", (await Assert.ThrowsAsync<Core.SwarmException>(() => client.AttestAsync(wrongServer, new SvidFolder(_work + "-e")))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewal_with_a_removed_identity_is_refused()
    {
        var client = new IdentityClient(server.Address);
        var folder = new SvidFolder(_work);
        using var first = await client.AttestAsync(JoinToken.Parse(await server.CreateTokenAsync("spiffe://swarm.local/sn/sn1")), folder);
        var bundle = TrustBundle.Load(folder.BundlePath);
        using var renewed = await client.RenewAsync(TestCa.Fixed(first, bundle), folder);
        Assert.NotEqual(first.SerialNumber, renewed.SerialNumber);

        var (exitCode, output) = await SwarmProcess.RunAsync("identity", "remove", "--data-dir", server.DataDirectory, "--spiffe-id", "spiffe://swarm.local/sn/sn1");
        Assert.True(exitCode == 0, output);
        var refused = await Assert.ThrowsAsync<IdentityCallException>(() => client.RenewAsync(TestCa.Fixed(renewed, bundle), folder));
        Assert.Equal(StatusCode.PermissionDenied, refused.Status);
        Assert.Contains("was removed", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_clients_without_an_acceptable_svid_are_refused()
    {
        var client = new IdentityClient(server.Address);
        var bundle = TrustBundle.Load(server.BundlePath);
        var folder = new SvidFolder(_work);

        // No certificate: the TLS connection is allowed (attestation needs it) but renewal is not.
        var anonymous = new GrpcChannelSource(server.Address, bundle);
        var none = await Assert.ThrowsAsync<RpcException>(() => anonymous.Client.RenewAsync(new RenewRequest { Csr = ByteString.CopyFrom(SvidMaterial.NewKeyAndRequest().Csr) }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        Assert.Contains("needs the current SVID", none.Status.Detail, StringComparison.Ordinal);

        using var otherCa = new TestCa();
        await AssertRefusedAtHandshake(client, TestCa.Fixed(otherCa.Svid("sl/intruder"), bundle), folder, "does not chain to this swarm's trust bundle");

        var now = DateTimeOffset.UtcNow;
        using var expired = TestCa.Forge(server.DataDirectory, TestCa.LeafWith("spiffe://swarm.local/sl/old"), now.AddHours(-2), now.AddHours(-1));
        await AssertRefusedAtHandshake(client, TestCa.Fixed(expired, bundle), folder, "expired at");

        using var foreignId = TestCa.Forge(server.DataDirectory, TestCa.LeafWith("spiffe://other.domain/sl/x"), now.AddMinutes(-1), now.AddHours(1));
        await AssertRefusedAtHandshake(client, TestCa.Fixed(foreignId, bundle), folder, "may not use this endpoint");
    }

    [Fact]
    public async Task Malformed_requests_get_a_clear_error_and_the_server_keeps_serving()
    {
        var token = JoinToken.Parse(await server.CreateTokenAsync("spiffe://swarm.local/sl/node4"));
        var channel = new GrpcChannelSource(server.Address, TrustBundle.Load(server.BundlePath));
        var badCsr = await Assert.ThrowsAsync<RpcException>(() => channel.Client.AttestAsync(new AttestRequest { JoinToken = token.Secret, Csr = ByteString.CopyFrom([0x30, 0x03, 0x02, 0x01, 0x00]) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badCsr.StatusCode);
        Assert.Contains("not a valid signed PKCS#10 request", badCsr.Status.Detail, StringComparison.Ordinal);

        var (adminChannel, admin) = server.Admin();
        using (adminChannel)
        {
            var badId = await Assert.ThrowsAsync<RpcException>(() => admin.CreateJoinTokenAsync(new CreateJoinTokenRequest { SpiffeId = "spiffe://swarm.local/sl/../x", TtlSeconds = 60 }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, badId.StatusCode);
            Assert.Contains("relative segments are not allowed", badId.Status.Detail, StringComparison.Ordinal);
        }
        var (exitCode, output) = await SwarmProcess.RunAsync("identity", "token", "create", "--data-dir", server.DataDirectory, "--spiffe-id", "spiffe://Swarm.Local/sl/x");
        Assert.Equal(2, exitCode);
        Assert.Contains("upper case is not allowed in a trust domain", output, StringComparison.Ordinal);

        // The token survived the malformed request, and the server still issues.
        using var svid = await new IdentityClient(server.Address).AttestAsync(token, new SvidFolder(_work));
        Assert.Equal("spiffe://swarm.local/sl/node4", SvidCertificate.LeafId(svid).ToString());
    }

    [Fact]
    public async Task The_admin_service_is_not_reachable_over_tcp()
    {
        var channel = new GrpcChannelSource(server.Address, TrustBundle.Load(server.BundlePath));
        var admin = new IdentityAdmin.IdentityAdminClient(channel.Channel);
        var refused = await Assert.ThrowsAsync<RpcException>(() => admin.CreateJoinTokenAsync(new CreateJoinTokenRequest { SpiffeId = "spiffe://swarm.local/sl/x", TtlSeconds = 60 }).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);
    }

    private async Task AssertRefusedAtHandshake(IdentityClient client, ISvidSource presented, SvidFolder folder, string serverReason)
    {
        await Assert.ThrowsAnyAsync<Core.SwarmException>(() => client.RenewAsync(presented, folder));
        for (int i = 0; i < 50 && !server.Output.Contains(serverReason, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100); // the server's log line arrives through its stdout pipe
        }
        Assert.Contains(serverReason, server.Output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> OpenSsl(params string[] arguments)
    {
        var info = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        string output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }

    public void Dispose()
    {
        foreach (string directory in Directory.GetDirectories(Path.GetTempPath(), Path.GetFileName(_work) + "*"))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A gRPC channel to the server that trusts its bundle and presents no client certificate.</summary>
    private sealed class GrpcChannelSource
    {
        public GrpcChannelSource(string address, TrustBundle bundle)
        {
            var handler = MutualTls.Handler(null, PeerPolicy.Exactly(() => bundle, SwarmIdentities.IdentityServer("swarm.local")));
            Channel = GrpcChannel.ForAddress("https://" + address, new GrpcChannelOptions { HttpHandler = handler });
            Client = new Protocol.Identity.IdentityClient(Channel);
        }

        public GrpcChannel Channel { get; }

        public Protocol.Identity.IdentityClient Client { get; }
    }
}
