using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Ledger.Chain;

namespace SwarmLearning.Network;

/// <summary>
/// The SN file server (default port 30306, its own host): the block archive, to SNs admitted to this ledger only. An SN
/// whose state came from a snapshot (it joined, or caught up after a crash) fills the gap in its own archive from
/// another SN's file server, checking the fetched blocks against both ends of the gap.
/// </summary>
public sealed partial class SnHost
{
    private void MapFiles(WebApplication app, SnOptions options)
    {
        // TLS admits SN identities; only those admitted to this ledger (a key on the chain) are served.
        app.Use(async (context, next) =>
        {
            var caller = SvidCertificate.LeafId(context.Connection.ClientCertificate!);
            if (Ledger.State is not { } state || !state.Keys.ContainsKey(caller.ToString()))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await context.Response.WriteAsync($"{caller} is not an SN admitted to this ledger", context.RequestAborted);
                return;
            }
            await next(context);
        });
        app.MapGet("/v1/chain/head", () => Json(new { height = Ledger.State?.Height ?? -1, hash = Ledger.State?.HeadHash, chainId = Ledger.State?.ChainId, archived = Ledger.ArchivedHeight }));
        app.MapGet("/v1/trust-bundle", () => Results.Text(options.Identity.Bundle.ToPem(), "application/x-pem-file"));
        app.MapGet("/v1/chain/blocks", async (long? from, long? to, HttpContext context) =>
        {
            // Streamed, one block per line, exactly as archived (its bytes are what the hashes cover).
            long first = from ?? 0, last = to ?? long.MaxValue;
            context.Response.ContentType = "application/x-ndjson";
            await using var archive = new FileStream(Ledger.ArchivePath, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(archive);
            while (await reader.ReadLineAsync(context.RequestAborted) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }
                long height = Block.FromJson(line).Header.Height;
                if (height > last)
                {
                    break;
                }
                if (height >= first)
                {
                    await context.Response.WriteAsync(line + "\n", Encoding.UTF8, context.RequestAborted);
                }
            }
        });
    }

    private async Task BackfillAsync(SnOptions options, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                if (Ledger.Gap is not { } gap || Ledger.State is not { } state)
                {
                    continue;
                }
                foreach (var peer in state.SnDirectory.Values.Where(s => s.FileUrl is not null && s.Identity != options.Identity.Id.ToString()))
                {
                    try
                    {
                        string text = await _peers.GetStringAsync(new Uri($"{peer.FileUrl}/v1/chain/blocks?from={gap.From}&to={gap.To}"), cancellationToken);
                        var blocks = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Block.FromJson).ToList();
                        Ledger.Backfill(blocks);
                        LogBackfilled(_logger, gap.From, gap.To, peer.Identity);
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogBackfillFailed(_logger, peer.Identity, e.Message);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogBackfillFailed(_logger, "the other SNs", e.Message); // never fatal: tried again in 2 s
            }
        }
    }

    [LoggerMessage(LogLevel.Information, "filled blocks {From} to {To} of the archive from {Peer}, verified back from the snapshot's head")]
    private static partial void LogBackfilled(ILogger logger, long from, long to, string peer);

    [LoggerMessage(LogLevel.Warning, "could not fill the archive from {Peer}: {Reason}")]
    private static partial void LogBackfillFailed(ILogger logger, string peer, string reason);
}
