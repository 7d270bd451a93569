using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Issue 13 against running SNs: malformed and oversized transactions, forged caller headers, unknown keys, refusal
/// rate limits, null fields, random bodies, TLS below 1.3 and the join token's absence from the process list.
/// </summary>
[Collection(SecuritySwarm.Collection)]
public sealed class SnHardeningTests(SecuritySwarm swarm)
{
    [Fact]
    public async Task Malformed_transactions_get_400_naming_the_field_and_the_ledger_keeps_writing()
    {
        var sl = await swarm.Svid("sl/writer");
        using var http = swarm.Client(sl);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True((await Post(http, "sn2-api", "/v1/keys", new KeyRequest(ChainRules.PublicKeyOf(key)))).IsSuccessStatusCode);
        var good = Registration(sl, key, "hard", "writer");
        string json = System.Text.Json.JsonSerializer.Serialize(good, LedgerJson.Options);

        // "action": null killed the leader's proposer before; now it is a 400 that names the field.
        using (var nullAction = await Raw(http, "sn1-api", "/v1/transactions", json.Replace("\"action\":{\"action\":\"contract\"", "\"action\":null,\"x\":{\"action\":\"contract\"", StringComparison.Ordinal)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, nullAction.StatusCode);
            Assert.Contains("action", await nullAction.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var nullBody = await Raw(http, "sn1-api", "/v1/transactions", """{"body":null,"signature":"AAAA"}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, nullBody.StatusCode);
        }
        // Sent as a well-behaved client sends a large body (Expect: 100-continue): the SN refuses it on its declared length,
        // before reading it. Without that the refusal could cut the upload mid-way and the client see only a broken pipe.
        using (var huge = await Raw(http, "sn1-api", "/v1/transactions", json.Replace("\"hard\"", "\"" + new string('h', 2 << 20) + "\"", StringComparison.Ordinal), expectContinue: true))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        }
        // Unknown key: refused without being written.
        long before = (await Health(http)).Height;
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var unknown = SignedTransaction.Sign(good.Body, stranger);
        using (var refused = await Post(http, "sn1-api", "/v1/transactions", unknown))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("bad-signature", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(before, (await Health(http)).Height);

        // The good transaction still commits: the proposer is alive, and health says every loop runs.
        using (var accepted = await Post(http, "sn1-api", "/v1/transactions", good))
        {
            Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync());
            Assert.True((await accepted.Content.ReadFromJsonAsync<TxResult>(LedgerJson.Options))!.Accepted);
        }
        var health = await Health(http);
        Assert.Equal("ok", health.Status);
        Assert.Empty(health.Stopped ?? []);
    }

    [Fact]
    public async Task Only_an_admitted_sn_may_speak_for_another_and_keys_are_not_overwritten()
    {
        var victim = await swarm.Svid("sl/victim");
        using var victimHttp = swarm.Client(victim);
        using var victimKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True((await Post(victimHttp, "sn1-api", "/v1/keys", new KeyRequest(ChainRules.PublicKeyOf(victimKey)))).IsSuccessStatusCode);

        using var attackerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        foreach (var forger in new[] { swarm.Callers["non-admitted SN"]!, swarm.Callers["admitted SN"]! })
        {
            using var http = swarm.Client(forger);
            using var request = new HttpRequestMessage(HttpMethod.Post, swarm.Url("sn2-api", "/v1/keys")) { Content = JsonContent.Create(new KeyRequest(ChainRules.PublicKeyOf(attackerKey)), options: LedgerJson.Options) };
            request.Headers.Add("X-Swarm-Caller", victim.Id.ToString());
            using var response = await http.SendAsync(request);
            Assert.False(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        // The victim's key is the one it registered: it still signs for itself.
        using var own = await Post(victimHttp, "sn2-api", "/v1/transactions", Registration(victim, victimKey, "keys", "victim"));
        Assert.True(own.IsSuccessStatusCode, await own.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Repeated_refusals_are_rate_limited_and_random_bodies_never_harm_the_sn()
    {
        var noisy = await swarm.Svid("sl/noisy");
        using var http = swarm.Client(noisy);
        // Random JSON (FsCheck, fixed seed): each gets a 4xx, never a 5xx, and the SN keeps serving.
        var bodies = JsonGen().Sample(40, new Rnd(13), 40);
        Assert.True(bodies.Length >= 20, $"{bodies.Length} samples");
        var statuses = new List<HttpStatusCode>();
        foreach (string body in bodies)
        {
            foreach (string path in new[] { "/v1/transactions", "/v1/keys", "/v1/alive", "/v1/sn/join" })
            {
                using var response = await Raw(http, "sn2-api", path, body);
                statuses.Add(response.StatusCode);
            }
        }
        Assert.All(statuses, s => Assert.InRange((int)s, 400, 499));
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses); // more than 30 refusals within a minute
        using var sentinelHttp = swarm.Client(swarm.Callers["SL"]);
        Assert.Equal("ok", (await Health(sentinelHttp)).Status);
    }

    [Fact]
    public async Task Random_input_to_the_licence_server_and_the_sl_file_server_never_gets_a_5xx()
    {
        using var http = swarm.Client(await swarm.Svid("sl/fuzz"));
        var bodies = JsonGen().Sample(40, new Rnd(29), 30);
        var statuses = new List<(string Where, HttpStatusCode Status)>();
        foreach (string body in bodies)
        {
            foreach (string path in new[] { "/v1/seats", "/v1/seats/" + Uri.EscapeDataString(body.Length > 20 ? body[..20] : body) + "/renew", "/v1/licenses" })
            {
                using var response = await Raw(http, "apls", path, body);
                statuses.Add(("apls " + path, response.StatusCode));
            }
            using var file = await http.GetAsync(swarm.Url("sl-files", "/v1/files/" + Uri.EscapeDataString(body)));
            statuses.Add(("sl files", file.StatusCode));
        }
        Assert.All(statuses, s => Assert.True((int)s.Status < 500, $"{s.Where}: {s.Status}"));
        using var health = await http.GetAsync(swarm.Url("apls", "/v1/health"));
        Assert.True(health.IsSuccessStatusCode);
    }

    [Fact]
    public async Task Tls_below_1_3_is_refused_and_folders_are_owner_only_and_no_token_is_on_a_command_line()
    {
        foreach (string port in new[] { "sn1-api", "sn1-files", "apls", "sl-files" })
        {
            var (code, output) = await OpenSsl("s_client", "-connect", $"127.0.0.1:{swarm.Ports[port]}", "-tls1_2", "-brief");
            Assert.True(code != 0, $"{port} accepted TLS 1.2: {output}");
        }
        foreach (string folder in new[] { "sn1", "sn2", "node9", "apls", "id" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(swarm.Root, folder)));
        }
        // A run-sn in the background (as a user starts it): the token reaches it in its environment, not its command line.
        string home = Path.Combine(swarm.Root, "home");
        string token = await swarm.Token("sn/bg");
        var environment = new Dictionary<string, string> { ["SWARM_HOME"] = home };
        var (exit, started) = await SwarmProcess.RunAsUserAsync(environment, "run-sn", "--name", "bg", "--host", "127.0.0.1", "--ledger-port", $"{Loopback.FreePort()}",
            "--api-port", $"{Loopback.FreePort()}", "--sn-fs-port", $"{Loopback.FreePort()}", "--sentinel",
            "--identity-server", swarm.IdentityAddress, "--join-token", token);
        try
        {
            Assert.True(exit == 0, started);
            int pid = int.Parse(System.Text.RegularExpressions.Regex.Match(started, @"\(pid (\d+)\)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            string commandLine = (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).Replace('\0', ' ');
            Assert.Contains("run-sn", commandLine, StringComparison.Ordinal);
            Assert.DoesNotContain(token, commandLine, StringComparison.Ordinal);
            Assert.DoesNotContain(token, await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(home, "run"), "*", SearchOption.AllDirectories).FirstOrDefault() ?? "/dev/null"), StringComparison.Ordinal);
        }
        finally
        {
            await SwarmProcess.RunAsUserAsync(environment, "stop", "--all");
        }
    }

    [Fact]
    public async Task A_taken_port_is_one_line_naming_the_option()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int taken = ((IPEndPoint)listener.LocalEndpoint).Port;
        var (exit, output) = await SwarmProcess.RunAsync("run-sn", "--name", "sn1", "--data-dir", Path.Combine(swarm.Root, "sn1-copy"), "--host", "127.0.0.1",
            "--ledger-port", $"{Loopback.FreePort()}", "--api-port", $"{taken}", "--sn-fs-port", $"{Loopback.FreePort()}", "--sentinel",
            "--cert", Path.Combine(swarm.Root, "sn1", "identity", "svid.crt"), "--key", Path.Combine(swarm.Root, "sn1", "identity", "svid.key"), "--capath", Path.Combine(swarm.Root, "sn1", "identity", "bundle.crt"));
        Assert.Equal(2, exit);
        Assert.Contains($"port {taken} on 127.0.0.1 is already in use", output, StringComparison.Ordinal);
        Assert.Contains("--api-port", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.NotEqual(SnOptions.DefaultFilePort, Node.SlOptions.DefaultFilePort);
    }

    private static Gen<string> JsonGen()
    {
        var scalar = Gen.Elements("null", "0", "-1", "1e308", "\"\"", "\"x\"", "true", "[]", "{}", "\"spiffe://swarm.local/sl/noisy\"", "\"AAAA\"", "9223372036854775807");
        var field = Gen.Elements("body", "signature", "action", "chainId", "sender", "nonce", "tx", "type", "publicKey", "contract", "nodeId", "raftEndPoint", "ledgerKey", "apiUrl");
        var member = from name in field from value in scalar select $"\"{name}\":{value}";
        var flat = Gen.ListOf(member).Select(m => "{" + string.Join(',', m) + "}");
        var nested = from name in field from inner in flat from more in flat select more.Length > 2 ? $"{{\"{name}\":{inner},{more[1..]}" : $"{{\"{name}\":{inner}}}";
        return Gen.OneOf(flat, nested, scalar, Gen.Elements("{", "}", "[{]", "not json", "{\"body\":{\"action\":{\"action\":\"contract\",\"tx\":{\"type\":\"nope\"}}}}"));
    }

    private static SignedTransaction Registration(ISvidSource node, ECDsa key, string contract, string name) =>
        SignedTransaction.Sign(new TxBody("swarm.local/main", node.Id.ToString(), 1, new ContractAction(
            new RegisterNode(contract, name, new([new("w", Core.Model.DType.F32, [2])]), new TrainingParameters(1, 5)))), key);

    private async Task<SnHealth> Health(HttpClient http) => (await http.GetFromJsonAsync<SnHealth>(swarm.Url("sn1-api", "/v1/health"), LedgerJson.Options))!;

    private Task<HttpResponseMessage> Post<T>(HttpClient http, string port, string path, T body) => http.PostAsJsonAsync(swarm.Url(port, path), body, LedgerJson.Options);

    private Task<HttpResponseMessage> Raw(HttpClient http, string port, string path, string body, bool expectContinue = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, swarm.Url(port, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = expectContinue;
        return http.SendAsync(request);
    }

    private static async Task<(int ExitCode, string Output)> OpenSsl(params string[] arguments)
    {
        var info = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await output + await error);
    }
}
