using System.CommandLine;
using Microsoft.Extensions.Logging;
using SwarmLearning.Cli.Swci;
using SwarmLearning.Network.Dashboard;

namespace SwarmLearning.Cli.Dashboard;

/// <summary>`swarm dashboard`: the swarm at a glance in the browser, read through a swci context (its SNs, as its operator).</summary>
internal static class DashboardCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "port on 127.0.0.1 (0: any free one)", DefaultValueFactory = _ => 0 };
        var context = new Option<string?>("--context") { Description = "the swci context whose SNs and identity to use (default: the current one)" };
        var apls = new Option<string?>("--apls") { Description = "licence server host:port, to show the seats in use" };
        var command = new Command("dashboard", "serve a live web dashboard on localhost: contracts, nodes, merges, ledger, licence seats") { port, context, apls };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var swci = parse.GetValue(context) is { } name ? SwciContext.Load(name) : SwciContext.Current();
            using var logs = LoggerFactory.Create(CommandRun.ConsoleLogging);
            await using var server = await StartAsync(swci, parse.GetValue(apls), parse.GetValue(port), logs, cancellationToken);
            Console.WriteLine($"dashboard: {server.Url}  (context {swci.Name}; Ctrl-C stops it)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        }));
        return command;
    }

    /// <summary>Starts a dashboard for <paramref name="swci"/>.</summary>
    private static Task<DashboardServer> StartAsync(SwciContext swci, string? apls, int port, ILoggerFactory logs, CancellationToken cancellationToken) =>
        StartAsync(swci.Identity(), swci.Sns, apls, port, logs.CreateLogger("SwarmLearning.Dashboard"), cancellationToken);

    /// <summary>Starts a dashboard reading <paramref name="sns"/> (host:port) as <paramref name="identity"/> (also used by `swarm up`).</summary>
    public static Task<DashboardServer> StartAsync(SwarmLearning.Identity.Tls.ISvidSource identity, IEnumerable<string> sns, string? apls, int port, ILogger logger, CancellationToken cancellationToken)
    {
        var feed = new DashboardFeed(identity, [.. sns.Select(sn => new Uri($"https://{sn}"))], apls is null ? null : new Uri($"https://{apls}"), logger);
        return DashboardServer.StartAsync(feed, port, _ => { }, cancellationToken);
    }
}
