using System.CommandLine;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Protocol;
using SwarmLearning.Identity.Server;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Cli.Identity;

/// <summary>`swarm run-spire-server` and `swarm identity …` (tokens, removal, listing, fetching and renewing an SVID).</summary>
internal static class IdentityCommands
{
    private static string DefaultDataDirectory => SwarmHome.Of("spire-server");

    public static Command RunServer()
    {
        var dataDir = DataDirOption();
        var trustDomain = new Option<string>("--trust-domain") { Description = "the SPIFFE trust domain this CA serves", DefaultValueFactory = _ => "swarm.local" };
        var host = new Option<string>("--host") { Description = "address to listen on", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port, printed when ready)", DefaultValueFactory = _ => IdentityServerOptions.DefaultPort };
        var ttl = new Option<string>("--svid-ttl") { Description = "lifetime of issued SVIDs (renewed at half-life)", DefaultValueFactory = _ => "1h" };
        var maxTokenTtl = new Option<string>("--max-token-ttl") { Description = "the longest time to live a join token may be given", DefaultValueFactory = _ => "7d" };
        var foreground = Operations.OperationsCommands.ForegroundOption();
        var command = new Command("run-spire-server", "run the identity server: a CA for one SPIFFE trust domain issuing X509-SVIDs to nodes that present a join token, renewing them over mTLS")
        {
            dataDir, trustDomain, host, port, ttl, maxTokenTtl, foreground, ConfigFile.Option(),
        };
        command.SetAction((parse, cancellationToken) => !parse.GetValue(foreground)
            ? CommandRun.Guarded(() => Operations.Background.LaunchAsync("spire-server", "identity server ready", cancellationToken))
            : CommandRun.Guarded(async () =>
        {
            var options = new IdentityServerOptions
            {
                DataDirectory = parse.GetValue(dataDir)!, TrustDomain = parse.GetValue(trustDomain)!, Host = parse.GetValue(host)!,
                Port = parse.GetValue(port), SvidLifetime = Duration.Parse(parse.GetValue(ttl)!, "--svid-ttl"),
                MaxTokenLifetime = Duration.Parse(parse.GetValue(maxTokenTtl)!, "--max-token-ttl"),
            };
            SpiffeId.ForTrustDomain(options.TrustDomain);
            await using var server = await IdentityServerHost.StartAsync(options, CommandRun.ConsoleLogging, cancellationToken: cancellationToken);
            Console.WriteLine($"identity server ready: trust domain {options.TrustDomain}, listening on {options.Host}:{server.Port}, " +
                $"admin socket {options.AdminSocket}, trust bundle {Path.Combine(Path.GetFullPath(options.DataDirectory), "ca.crt")}, audit log {server.Authority.Audit.Path}");
            await server.WaitForShutdownAsync(cancellationToken);
        }));
        return command;
    }

    public static Command Identity()
    {
        var command = new Command("identity", "manage identities: join tokens, removal, listing (on the identity server's host), and fetching or renewing an SVID (on a node)");
        var token = new Command("token", "join tokens");
        token.Subcommands.Add(CreateToken());
        command.Subcommands.Add(token);
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Fetch());
        command.Subcommands.Add(Renew());
        return command;
    }

    private static Command CreateToken()
    {
        var dataDir = DataDirOption();
        var id = SpiffeIdOption();
        var ttl = new Option<string>("--ttl") { Description = "how long the token can be used (once)", DefaultValueFactory = _ => "1h" };
        var command = new Command("create", "create a one-time join token bound to a SPIFFE ID; prints the token") { dataDir, id, ttl };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var spiffeId = SpiffeId.Parse(parse.GetValue(id)!);
            var lifetime = Duration.Parse(parse.GetValue(ttl)!, "--ttl");
            var (channel, admin) = AdminChannel.Open(parse.GetValue(dataDir)!);
            using (channel)
            {
                var response = await admin.CreateJoinTokenAsync(new CreateJoinTokenRequest { SpiffeId = spiffeId.ToString(), TtlSeconds = (long)lifetime.TotalSeconds }, cancellationToken: cancellationToken);
                Console.Error.WriteLine($"join token for {spiffeId}, usable once until {DateTimeOffset.FromUnixTimeMilliseconds(response.ExpiresUnixMs):u}:");
                Console.WriteLine(response.Token);
            }
        }));
        return command;
    }

    private static Command Remove()
    {
        var dataDir = DataDirOption();
        var id = SpiffeIdOption();
        var command = new Command("remove", "remove an identity: its next renewal is refused and its unused tokens are void") { dataDir, id };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var spiffeId = SpiffeId.Parse(parse.GetValue(id)!);
            var (channel, admin) = AdminChannel.Open(parse.GetValue(dataDir)!);
            using (channel)
            {
                var response = await admin.RemoveIdentityAsync(new RemoveIdentityRequest { SpiffeId = spiffeId.ToString() }, cancellationToken: cancellationToken);
                Console.WriteLine(response.Known ? $"removed {spiffeId}: its next renewal will be refused" : $"{spiffeId} was not known to this server; nothing to remove");
            }
        }));
        return command;
    }

    private static Command List()
    {
        var dataDir = DataDirOption();
        var command = new Command("list", "list the identities this server has issued") { dataDir };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var (channel, admin) = AdminChannel.Open(parse.GetValue(dataDir)!);
            using (channel)
            {
                var response = await admin.ListIdentitiesAsync(new ListIdentitiesRequest(), cancellationToken: cancellationToken);
                Console.WriteLine($"{"SPIFFE ID",-48} {"STATUS",-8} {"ISSUED",6} {"EXPIRES (UTC)",-20} SERIAL");
                foreach (var entry in response.Identities)
                {
                    string status = entry.RemovedUnixMs != 0 ? "removed" : "active";
                    Console.WriteLine($"{entry.SpiffeId,-48} {status,-8} {entry.Issued,6} {DateTimeOffset.FromUnixTimeMilliseconds(entry.LastExpiresUnixMs):yyyy-MM-dd HH:mm:ss} {entry.LastSerial}");
                }
            }
        }));
        return command;
    }

    private static Command Fetch()
    {
        var server = ServerOption();
        var joinToken = new Option<string>("--join-token") { Description = "the one-time token from `swarm identity token create`", Required = true };
        var output = new Option<string>("--out") { Description = "folder for svid.key, svid.crt and bundle.crt", Required = true };
        var trustBundle = new Option<string?>("--trust-bundle") { Description = "the server's CA certificate, when the token is a bare secret" };
        var command = new Command("fetch", "get an SVID from the identity server with a join token; the key is created here and never leaves") { server, joinToken, output, trustBundle };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var folder = new SvidFolder(parse.GetValue(output)!);
            var bundle = parse.GetValue(trustBundle) is { } path ? TrustBundle.Load(path) : null;
            using var svid = await new IdentityClient(parse.GetValue(server)!).AttestAsync(JoinToken.Parse(parse.GetValue(joinToken)!), folder, bundle, cancellationToken);
            Console.WriteLine($"{SvidCertificate.LeafId(svid)}: valid until {svid.NotAfter.ToUniversalTime():u}; key {folder.KeyPath}, certificate {folder.CertificatePath}, bundle {folder.BundlePath}");
        }));
        return command;
    }

    private static Command Renew()
    {
        var server = ServerOption();
        var directory = new Option<string>("--dir") { Description = "folder holding svid.key, svid.crt and bundle.crt", Required = true };
        var command = new Command("renew", "renew the SVID in a folder now, authenticating with it over mTLS") { server, directory };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var folder = new SvidFolder(parse.GetValue(directory)!);
            if (!folder.Exists)
            {
                throw new SwarmException($"no SVID in {folder.Directory}: fetch one first with `swarm identity fetch`");
            }
            var current = new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
            using var renewed = await new IdentityClient(parse.GetValue(server)!).RenewAsync(current, folder, cancellationToken);
            Console.WriteLine($"{SvidCertificate.LeafId(renewed)}: renewed, serial {renewed.SerialNumber}, valid until {renewed.NotAfter.ToUniversalTime():u}");
        }));
        return command;
    }

    private static Option<string> DataDirOption() => new("--data-dir") { Description = "the identity server's data folder", DefaultValueFactory = _ => DefaultDataDirectory };

    private static Option<string> SpiffeIdOption() => new("--spiffe-id") { Description = "e.g. spiffe://swarm.local/sl/node1", Required = true };

    private static Option<string> ServerOption() => new("--server") { Description = "identity server host:port", DefaultValueFactory = _ => $"127.0.0.1:{IdentityServerOptions.DefaultPort}" };
}
