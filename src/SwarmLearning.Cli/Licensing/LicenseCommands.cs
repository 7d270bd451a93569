using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Licensing.Licenses;
using SwarmLearning.Licensing.Server;

namespace SwarmLearning.Cli.Licensing;

/// <summary>`swarm run-apls` and `swarm license issue|install|list`.</summary>
internal static class LicenseCommands
{
    private static string DefaultDataDirectory => SwarmHome.Of("apls");

    public static Command RunServer()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "installed licences and seat leases", DefaultValueFactory = _ => DefaultDataDirectory };
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "HTTPS port (mTLS)", DefaultValueFactory = _ => AplsOptions.DefaultPort };
        var issuers = new Option<string?>("--trusted-issuer") { Description = "the licence issuers' public keys: a .pub file or a folder of them (default <data-dir>/issuers)" };
        var lease = new Option<string>("--lease") { Description = "how long a seat lasts without renewal: a crashed component's seat comes back after this", DefaultValueFactory = _ => "60s" };
        var identityServer = new Option<string>("--identity-server") { Description = "identity server host:port", DefaultValueFactory = _ => "127.0.0.1:8081" };
        var joinToken = JoinTokenInput.ValueOption("one-time token for spiffe://<trust-domain>/apls (not needed once an SVID is on disk)");
        var joinTokenFile = JoinTokenInput.FileOption();
        var cert = new Option<string?>("--cert") { Description = "use this certificate (PEM X509-SVID) instead of the identity server" };
        var key = new Option<string?>("--key") { Description = "its private key (PEM)" };
        var capath = new Option<string?>("--capath") { Description = "trust bundle: a CA file or a folder of them" };
        var foreground = Operations.OperationsCommands.ForegroundOption();
        var command = new Command("run-apls", "run the licence server: installed licences, and a seat for every SN and SL")
        {
            dataDir, host, port, issuers, lease, identityServer, joinToken, joinTokenFile, cert, key, capath, foreground, ConfigFile.Option(),
        };
        command.SetAction((parse, cancellationToken) => !parse.GetValue(foreground)
            ? CommandRun.Guarded(() => Operations.Background.LaunchAsync("apls", "licence server listening", cancellationToken))
            : CommandRun.Guarded(async () =>
        {
            string data = Path.GetFullPath(parse.GetValue(dataDir)!);
            SwarmLearning.Identity.OwnerOnlyFile.CreateDirectory(data); // first, so nothing creates it with wider permissions
            using var logs = LoggerFactory.Create(CommandRun.ConsoleLogging);
            var identity = await Network.SnCommand.IdentityOf(parse.GetValue(cert), parse.GetValue(key), parse.GetValue(capath), parse.GetValue(identityServer)!, JoinTokenInput.Resolve(parse.GetValue(joinToken), parse.GetValue(joinTokenFile)),
                Path.Combine(data, "identity"), logs.CreateLogger("SwarmLearning.Identity"), cancellationToken);
            if (identity.Id.Path != "/" + SwarmIdentities.LicenceServer)
            {
                throw new SwarmException($"the licence server's certificate is for {identity.Id}, not spiffe://{identity.Id.TrustDomain}/{SwarmIdentities.LicenceServer}");
            }
            var options = new AplsOptions
            {
                DataDirectory = data, Identity = identity, Host = parse.GetValue(host)!, Port = parse.GetValue(port),
                TrustedIssuers = parse.GetValue(issuers) ?? Path.Combine(data, "issuers"), LeaseTime = Duration.Parse(parse.GetValue(lease)!, "--lease"),
            };
            await using var server = await AplsHost.StartAsync(options, CommandRun.ConsoleLogging, cancellationToken: cancellationToken);
            await server.WaitForShutdownAsync(cancellationToken);
        }));
        return command;
    }

    public static Command License()
    {
        var command = new Command("license", "issue, install and list licences");
        command.Subcommands.Add(Issue());
        command.Subcommands.Add(Install());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command Issue()
    {
        var issuerKey = new Option<string>("--issuer-key") { Description = "the issuer's private key (PEM); created with its .pub beside it if missing", Required = true };
        var licensee = new Option<string>("--licensee") { Description = "who the licence is for", Required = true };
        var seats = new Option<int>("--seats") { Description = "components (SNs and SLs) that may run at once", DefaultValueFactory = _ => 10 };
        var days = new Option<int>("--days") { Description = "valid for this many days from today", DefaultValueFactory = _ => 365 };
        var features = new Option<string>("--features") { Description = "comma-separated features", DefaultValueFactory = _ => "swarm-learning" };
        var id = new Option<string?>("--id") { Description = "licence id (default: generated)" };
        var output = new Option<string>("--out") { Description = "the licence file to write", Required = true };
        var command = new Command("issue", "sign a licence file (for operators, and for a local swarm)") { issuerKey, licensee, seats, days, features, id, output };
        command.SetAction((parse, _) => CommandRun.Guarded(() =>
        {
            using var key = IssuerKeys.OpenOrCreateSigningKey(parse.GetValue(issuerKey)!);
            var terms = LicenseTerms.ForDays(parse.GetValue(licensee)!, [.. parse.GetValue(features)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                parse.GetValue(seats), parse.GetValue(days), DateTimeOffset.UtcNow, parse.GetValue(id));
            var file = LicenseFile.Issue(terms, key);
            File.WriteAllText(parse.GetValue(output)!, file.ToJson());
            Console.WriteLine($"licence {terms.Id} for {terms.Licensee}: {terms.Seats} seats until {terms.NotAfter:yyyy-MM-dd}, signed by issuer {file.KeyId}; written to {parse.GetValue(output)}");
            return Task.CompletedTask;
        }));
        return command;
    }

    private static Command Install()
    {
        var file = new Argument<string>("file") { Description = "the licence file" };
        var dataDir = new Option<string>("--data-dir") { Description = "the licence server's data folder", DefaultValueFactory = _ => DefaultDataDirectory };
        var issuers = new Option<string?>("--trusted-issuer") { Description = "as for run-apls (default <data-dir>/issuers)" };
        var command = new Command("install", "verify a licence file and install it on the licence server of this host (it is used at once)") { file, dataDir, issuers };
        command.SetAction((parse, _) => CommandRun.Guarded(() =>
        {
            string data = parse.GetValue(dataDir)!;
            string path = parse.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new LicenseException($"{path} does not exist");
            }
            var book = new SeatBook(data, IssuerKeys.Load(parse.GetValue(issuers) ?? Path.Combine(data, "issuers")), TimeSpan.FromMinutes(1), TimeProvider.System);
            var terms = book.Install(File.ReadAllText(path), path);
            Console.WriteLine($"installed licence {terms.Id} for {terms.Licensee}: {terms.Seats} seats until {terms.NotAfter:yyyy-MM-dd}");
            return Task.CompletedTask;
        }));
        return command;
    }

    private static Command List()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "the licence server's data folder", DefaultValueFactory = _ => DefaultDataDirectory };
        var issuers = new Option<string?>("--trusted-issuer") { Description = "as for run-apls (default <data-dir>/issuers)" };
        var command = new Command("list", "installed licences and the seats in use") { dataDir, issuers };
        command.SetAction((parse, _) => CommandRun.Guarded(() =>
        {
            string data = parse.GetValue(dataDir)!;
            var book = new SeatBook(data, IssuerKeys.Load(parse.GetValue(issuers) ?? Path.Combine(data, "issuers")), TimeSpan.FromMinutes(1), TimeProvider.System);
            foreach (var license in book.Licenses())
            {
                Console.WriteLine(license.Terms is { } t
                    ? $"{t.Id}  {t.Licensee}  seats {license.SeatsInUse}/{t.Seats}  {t.NotBefore:yyyy-MM-dd} to {t.NotAfter:yyyy-MM-dd}  [{string.Join(',', t.Features)}]"
                    : $"{license.File}: cannot be used: {license.Problem}");
            }
            foreach (var lease in book.Leases())
            {
                Console.WriteLine($"  seat: {lease.Holder} ({lease.Component}) on {lease.LicenseId} until {lease.ExpiresAt:HH:mm:ss}");
            }
            return Task.CompletedTask;
        }));
        return command;
    }
}
