using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SwarmLearning.Ledger.Chain;

namespace SwarmLearning.Network;

/// <summary>
/// The SN file server (port 30305): the block archive for SNs that catch up and for auditors, and the trust bundle.
/// An SN that joined from a snapshot fills the start of its own archive from another SN's file server, checking the
/// fetched blocks back from the hash its first block links to.
/// </summary>
public sealed partial class SnHost
{
    private void MapFiles(WebApplication app, SnOptions options)
    {
        string port = $"*:{options.FilePort}";
        app.MapGet("/v1/chain/head", () => Json(new { height = Ledger.State?.Height ?? -1, hash = Ledger.State?.HeadHash, chainId = Ledger.State?.ChainId })).RequireHost(port);
        app.MapGet("/v1/trust-bundle", () => Results.Text(options.Identity.Bundle.ToPem(), "application/x-pem-file")).RequireHost(port);
        app.MapGet("/v1/chain/blocks", async (long? from, long? to, HttpContext context) =>
        {
            // Streamed, one block per line, exactly as archived (its bytes are what the hashes cover).
            long first = from ?? 0, last = to ?? long.MaxValue;
            context.Response.ContentType = "application/x-ndjson";
            long height = 0;
            await using var archive = new FileStream(Ledger.ArchivePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(archive);
            while (await reader.ReadLineAsync(context.RequestAborted) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }
                height = Block.FromJson(line).Header.Height;
                if (height > last)
                {
                    break;
                }
                if (height >= first)
                {
                    await context.Response.WriteAsync(line + "\n", Encoding.UTF8, context.RequestAborted);
                }
            }
        }).RequireHost(port);
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
                    catch (Exception e) when (e is HttpRequestException or ChainViolationException or System.Text.Json.JsonException)
                    {
                        LogBackfillFailed(_logger, peer.Identity, e.Message);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(LogLevel.Information, "filled blocks {From} to {To} of the archive from {Peer}, verified back from the snapshot's head")]
    private static partial void LogBackfilled(ILogger logger, long from, long to, string peer);

    [LoggerMessage(LogLevel.Warning, "could not fill the archive from {Peer}: {Reason}")]
    private static partial void LogBackfillFailed(ILogger logger, string peer, string reason);
}
