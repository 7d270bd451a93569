namespace SwarmLearning.Licensing.Tests;

/// <summary>
/// The licence server as a real process with real SNs asking it for seats: each refusal with its message, a seat taken by
/// a component that is then killed (-9) coming back when its lease lapses.
/// </summary>
public sealed class AplsProcessTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-apls-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<SwarmProcess> _processes = [];
    private string _identityAddress = "", _apls = "";

    public async Task InitializeAsync()
    {
        var identity = Track(SwarmProcess.Start("run-spire-server", "--data-dir", Path.Combine(_root, "id"), "--host", "127.0.0.1", "--port", "0"));
        _identityAddress = "127.0.0.1:" + (await identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)")).Groups[1].Value;
        var (issued, issueOutput) = await SwarmProcess.RunAsync("license", "issue", "--issuer-key", Path.Combine(_root, "issuers", "issuer.key"), "--licensee", "Hospital A",
            "--seats", "1", "--days", "30", "--out", Path.Combine(_root, "lic.json"));
        Assert.True(issued == 0, issueOutput);
        int port = Loopback.FreePort();
        _apls = $"127.0.0.1:{port}";
        var server = Track(SwarmProcess.Start("run-apls", "--data-dir", Path.Combine(_root, "apls"), "--trusted-issuer", Path.Combine(_root, "issuers"), "--port", $"{port}",
            "--lease", "3s", "--identity-server", _identityAddress, "--join-token", await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_root, "id"), "spiffe://swarm.local/apls")));
        await server.WaitForAsync("licence server listening", TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Components_get_seats_up_to_the_licence_and_each_refusal_says_what_to_do()
    {
        // No licence installed yet: the SN refuses to start and says how to install one.
        var early = await StartSn("sn1", exits: true);
        Assert.Contains("no licence is installed on this licence server: install one with `swarm license install FILE`", early.Output, StringComparison.Ordinal);

        // An altered licence file is refused at install.
        string text = await File.ReadAllTextAsync(Path.Combine(_root, "lic.json"));
        await File.WriteAllTextAsync(Path.Combine(_root, "altered.json"), text.Replace("\"signature\": \"", "\"signature\": \"AAAA", StringComparison.Ordinal));
        var (alteredCode, alteredOutput) = await Install("altered.json");
        Assert.Equal(2, alteredCode);
        Assert.Contains("the signature does not verify: the file was altered", alteredOutput, StringComparison.Ordinal);

        var (code, output) = await Install("lic.json");
        Assert.True(code == 0, output);
        var first = await StartSn("sn1", token: false);
        await first.WaitForAsync("licence: seat on", TimeSpan.FromSeconds(30));

        // One seat: a second component is refused, not told who holds it (that is for operators).
        var second = await StartSn("sn2", exits: true);
        Assert.Contains("all 1 seats are taken", second.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("taken (by", second.Output, StringComparison.Ordinal);

        // kill -9: the seat is not returned, but its lease (3 s) lapses and the second SN gets it.
        first.Kill();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var retry = await StartSn("sn2", token: false);
        await retry.WaitForAsync("licence: seat on", TimeSpan.FromSeconds(30));

        // A licence server that is not there: the message names the address.
        var lost = await StartSn("sn3", exits: true, apls: $"127.0.0.1:{Loopback.FreePort()}");
        Assert.Contains("no licence server is reachable: 127.0.0.1:", lost.Output, StringComparison.Ordinal);
        Assert.Contains("is `swarm run-apls` running there?", lost.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secondary_licence_server_is_used_when_the_primary_is_down()
    {
        var (code, output) = await Install("lic.json");
        Assert.True(code == 0, output);
        var sn = await StartSn("sn1", apls: $"127.0.0.1:{Loopback.FreePort()}", secondary: _apls);
        await sn.WaitForAsync($"licence: seat on .* from {_apls.Replace(".", "\\.", StringComparison.Ordinal)}", TimeSpan.FromSeconds(30));
    }

    private Task<(int, string)> Install(string file) =>
        SwarmProcess.RunAsync("license", "install", Path.Combine(_root, file), "--data-dir", Path.Combine(_root, "apls"), "--trusted-issuer", Path.Combine(_root, "issuers"));

    private async Task<SwarmProcess> StartSn(string name, bool exits = false, bool token = true, string? apls = null, string? secondary = null)
    {
        var arguments = new List<string>
        {
            "run-sn", "--name", name, "--sentinel", "--data-dir", Path.Combine(_root, name), "--ledger-port", $"{Loopback.FreePort()}", "--api-port", $"{Loopback.FreePort()}",
            "--sn-fs-port", $"{Loopback.FreePort()}", "--identity-server", _identityAddress, "--apls", apls ?? _apls,
        };
        if (secondary is not null)
        {
            arguments.AddRange(["--apls", secondary]);
        }
        if (token)
        {
            arguments.AddRange(["--join-token", await SwarmProcess.CreateJoinTokenAsync(Path.Combine(_root, "id"), $"spiffe://swarm.local/sn/{name}")]);
        }
        var process = Track(SwarmProcess.Start([.. arguments]));
        await process.WaitForAsync(exits ? "error: " : "SN ready", TimeSpan.FromSeconds(60));
        return process;
    }

    private SwarmProcess Track(SwarmProcess process)
    {
        _processes.Add(process);
        return process;
    }

    public async Task DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }
        Directory.Delete(_root, recursive: true);
    }
}
