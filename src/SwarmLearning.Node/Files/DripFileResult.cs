using Microsoft.AspNetCore.Http;

namespace SwarmLearning.Node.Files;

/// <summary>
/// Fault injection (SWARM_FAULT_DRIP): a parameter file sent one byte at a time, <paramref name="interval"/> apart, as a
/// Byzantine contributor that wants to hold up whoever fetches its models would. The connection stays busy, so no idle
/// timeout fires: only a deadline on the whole fetch ends it (docs/verification.md).
/// </summary>
internal sealed class DripFileResult(string path, TimeSpan interval) : IResult
{
    /// <summary>The variable that turns it on (e.g. 2s).</summary>
    public const string Variable = "SWARM_FAULT_DRIP";

    public async Task ExecuteAsync(HttpContext context)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = new FileInfo(path).Length;
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true);
        var one = new byte[1];
        while (await file.ReadAsync(one, context.RequestAborted) == 1)
        {
            await context.Response.Body.WriteAsync(one, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(interval, context.RequestAborted);
        }
    }
}
