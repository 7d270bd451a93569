using System.CommandLine;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Network;

namespace SwarmLearning.Cli.Network;

/// <summary>`swarm run-sn`: one Swarm Network node (ledger + REST API).</summary>
internal static class SnCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "this SN's name: its identity is spiffe://<trust-domain>/sn/<name>", Required = true };
        var dataDir = new Option<string?>("--data-dir") { Description = "state folder (default $SWARM_HOME/sn-<name>)" };
        var host = new Option<string>("--host") { Description = "the IP address this SN listens on and is reached at", DefaultValueFactory = _ => "127.0.0.1" };
        var ledgerPort = new Option<int>("--ledger-port") { Description = "ledger peer-to-peer port (Raft, mTLS between SNs)", DefaultValueFactory = _ => SnOptions.DefaultLedgerPort };
        var apiPort = new Option<int>("--api-port") { Description = "REST API port (HTTPS, mTLS)", DefaultValueFactory = _ => SnOptions.DefaultApiPort };
        var filePort = new Option<int>("--sn-fs-port") { Description = "file server port (the block archive, HTTPS, mTLS)", DefaultValueFactory = _ => SnOptions.DefaultFilePort };
        var sentinel = new Option<bool>("--sentinel") { Description = "this is the first SN: it creates the network (genesis block)" };
        var sentinelIp = new Option<string?>("--sentinel-ip") { Description = "address of an SN already in the network, to join through" };
        var sentinelApiPort = new Option<int>("--sentinel-api-port") { Description = "that SN's API port", DefaultValueFactory = _ => SnOptions.DefaultApiPort };
        var identityServer = new Option<string>("--identity-server") { Description = "identity server host:port", DefaultValueFactory = _ => "127.0.0.1:8081" };
        var joinToken = JoinTokenInput.ValueOption("one-time token for this SN's first SVID (not needed once an SVID is on disk)");
        var joinTokenFile = JoinTokenInput.FileOption();
        var cert = new Option<string?>("--cert") { Description = "use this certificate (PEM X509-SVID) instead of the identity server" };
        var key = new Option<string?>("--key") { Description = "its private key (PEM)" };
        var capath = new Option<string?>("--capath") { Description = "trust bundle: a CA file or a folder of them" };
        var apls = Licensing.LicenseOption.Create();
        var foreground = Operations.OperationsCommands.ForegroundOption();
        var command = new Command("run-sn", "run a Swarm Network node: a member of the Raft-ordered ledger and the REST API SL nodes use")
        {
            name, dataDir, host, ledgerPort, apiPort, filePort, sentinel, sentinelIp, sentinelApiPort, identityServer, joinToken, joinTokenFile, cert, key, capath, apls, foreground, ConfigFile.Option(),
        };
        command.SetAction((parse, cancellationToken) => !parse.GetValue(foreground)
            ? CommandRun.Guarded(() => Operations.Background.LaunchAsync("sn-" + parse.GetValue(name), "SN ready", cancellationToken))
            : CommandRun.Guarded(async () =>
        {
            string snName = parse.GetValue(name)!;
            string data = parse.GetValue(dataDir) ?? SwarmHome.Of("sn-" + snName);
            SwarmLearning.Identity.OwnerOnlyFile.CreateDirectory(data); // first, so nothing creates it with wider permissions
            using var logs = LoggerFactory.Create(CommandRun.ConsoleLogging);
            var identity = await IdentityOf(parse.GetValue(cert), parse.GetValue(key), parse.GetValue(capath), parse.GetValue(identityServer)!, JoinTokenInput.Resolve(parse.GetValue(joinToken), parse.GetValue(joinTokenFile)),
                Path.Combine(data, "identity"), logs.CreateLogger("SwarmLearning.Identity"), cancellationToken);
            if (SwarmIdentities.SnName(identity.Id) != snName)
            {
                throw new SwarmException($"this SN's certificate is for {identity.Id}, not spiffe://{identity.Id.TrustDomain}/sn/{snName}: create the join token for that ID, or pass --name {identity.Id.Segments[^1]}");
            }
            await using var seat = await Licensing.LicenseOption.CheckoutAsync(parse.GetValue(apls), identity, "sn", logs, cancellationToken);
            var options = new SnOptions
            {
                DataDirectory = data, Identity = identity, Host = parse.GetValue(host)!, LedgerPort = parse.GetValue(ledgerPort), ApiPort = parse.GetValue(apiPort), FilePort = parse.GetValue(filePort),
                Sentinel = parse.GetValue(sentinel), JoinVia = parse.GetValue(sentinelIp) is { } ip ? $"{ip}:{parse.GetValue(sentinelApiPort)}" : null,
                ChainId = identity.Id.TrustDomain + "/main",
            };
            await using var sn = await SnHost.StartAsync(options, CommandRun.ConsoleLogging, cancellationToken);
            Console.WriteLine($"SN ready: {identity.Id}, ledger {options.Host}:{options.LedgerPort}, API {options.ApiUrl}, files {options.FileUrl}, height {sn.Ledger.State?.Height}, data {data}");
            await sn.WaitForShutdownAsync(cancellationToken);
        }));
        return command;
    }

    internal static async Task<ISvidSource> IdentityOf(string? cert, string? key, string? capath, string identityServer, string? joinToken, string folder, ILogger logger, CancellationToken cancellationToken)
    {
        if (cert is not null || key is not null || capath is not null)
        {
            if (cert is null || key is null || capath is null)
            {
                throw new SwarmException("--cert, --key and --capath go together: the certificate, its key, and the CA(s) that issued the swarm's certificates");
            }
            return new FileSvidSource(cert, key, capath);
        }
        return await ManagedSvidSource.StartAsync(identityServer, folder, joinToken is null ? null : JoinToken.Parse(joinToken), logger, cancellationToken: cancellationToken);
    }
}
