using Microsoft.AspNetCore.Http;
using ZstdSharp;

namespace SwarmLearning.Node.Files;

/// <summary>
/// A parameter file sent with <c>Content-Encoding: zstd</c>, compressed while it streams from disk: nothing is buffered
/// whole and nothing is written beside the file. Level 1, the fastest: on a LAN the wire is rarely slower than a
/// stronger level would be.
/// </summary>
internal sealed class ZstdFileResult(string path) : IResult
{
    /// <summary>The HTTP content-coding name.</summary>
    public const string Coding = "zstd";

    public async Task ExecuteAsync(HttpContext context)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.Headers.ContentEncoding = Coding;
        context.Response.Headers.Vary = "Accept-Encoding";
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        await using var compressor = new CompressionStream(context.Response.Body, level: 1, bufferSize: 1 << 20, leaveOpen: true);
        await file.CopyToAsync(compressor, 1 << 20, context.RequestAborted);
    }
}
