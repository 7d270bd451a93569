using System.CommandLine;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Licensing.Client;

namespace SwarmLearning.Cli.Licensing;

/// <summary>`--apls host:port` (primary, then secondary) on every SN and SL: the seat the component holds while it runs.</summary>
internal static class LicenseOption
{
    public static Option<string[]> Create() => new("--apls")
    {
        Description = "licence server host:port (default port 5814); give it twice for a primary and a secondary. Without it the component runs unlicensed (with a warning)",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Checks out a seat, or warns that none is asked for; null when unlicensed.</summary>
    public static async Task<LicenseSeat?> CheckoutAsync(string[]? servers, ISvidSource identity, string component, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        var logger = logs.CreateLogger("SwarmLearning.Licensing");
        if (servers is null || servers.Length == 0)
        {
            logger.LogWarning("no licence server given (--apls): running without a licence seat");
            return null;
        }
        if (servers.Length > 2)
        {
            throw new SwarmException("--apls takes at most two servers: a primary and a secondary");
        }
        return await LicenseSeat.CheckoutAsync([.. servers.Select(s => s.Contains(':', StringComparison.Ordinal) ? s : s + ":5814")], identity, component, logger, cancellationToken);
    }
}
