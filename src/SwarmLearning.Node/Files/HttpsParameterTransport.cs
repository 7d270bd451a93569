using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using SwarmLearning.Core.Files;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Node.Files;

/// <summary>
/// Fetches parameter files from other SL nodes' file servers over mutual TLS (only SL identities are trusted as
/// servers). Streams to a partial file while hashing; a download cut short resumes with an HTTP range request; the
/// file enters the store only when its SHA-256 is the one asked for. With <paramref name="compress"/> a whole-file
/// download asks for zstd (docs/sl-node.md has the measured gain); a resumed one asks for the rest uncompressed.
/// Bounded by <see cref="DownloadLimits"/>: no more bytes than the model's layout allows (after decompression), and no
/// silence longer than the idle timeout.
/// </summary>
public sealed class HttpsParameterTransport(FileParameterStore store, ISvidSource identity, bool compress = false, DownloadLimits? limits = null) : IParameterTransport, IDisposable
{
    private readonly HttpClient _http = new(Handler(identity)) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly DownloadLimits _limits = limits ?? new DownloadLimits();

    private static SocketsHttpHandler Handler(ISvidSource identity)
    {
        var handler = MutualTls.Handler(identity, PeerPolicy.Under(identity, SwarmIdentities.SwarmLearning));
        handler.ConnectTimeout = TimeSpan.FromSeconds(15);
        return handler;
    }

    /// <inheritdoc />
    public async Task FetchAsync(ContentHash hash, string peerNodeId, string? peerAddress, CancellationToken cancellationToken)
    {
        if (store.Contains(hash))
        {
            return;
        }
        if (string.IsNullOrEmpty(peerAddress))
        {
            throw new PeerUnavailableException($"node '{peerNodeId}' registered no file server address");
        }
        string partial = store.PathOf(hash) + ".part";
        ContentHash received;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                received = await DownloadAsync(new Uri($"{peerAddress.TrimEnd('/')}/v1/files/{hash.Hex}"), partial, cancellationToken);
                break;
            }
            catch (Exception e) when (IsTransient(e) && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300 * attempt), cancellationToken); // resumes from what arrived
            }
            catch (Exception e) when (IsTransient(e))
            {
                throw new PeerUnavailableException($"could not fetch {hash.Short} from node '{peerNodeId}' at {peerAddress}: {e.Message}");
            }
            catch (TooLargeException e)
            {
                File.Delete(partial);
                throw new PeerUnavailableException($"node '{peerNodeId}' sent more than {e.Limit} bytes for {hash.Short}, more than this training's model can have; discarded");
            }
        }
        if (received != hash)
        {
            File.Delete(partial);
            throw new PeerUnavailableException($"node '{peerNodeId}' sent a file whose SHA-256 is {received.Short}, not {hash.Short}; discarded");
        }
        File.Move(partial, store.PathOf(hash), overwrite: true);
    }

    /// <summary>A cut connection, or a compressed stream that broke off: the next attempt resumes uncompressed.</summary>
    private static bool IsTransient(Exception e) => e is HttpRequestException or IOException or ZstdSharp.ZstdException; // a stalled peer is an IOException too

    /// <summary>Downloads into the partial file (resuming it) and returns the SHA-256 of the whole file, hashed as it is written.</summary>
    private async Task<ContentHash> DownloadAsync(Uri url, string partial, CancellationToken cancellationToken)
    {
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }
        else if (compress)
        {
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(ZstdFileResult.Coding));
        }
        long limit = _limits.MaxBytes;
        if (have > limit)
        {
            throw new TooLargeException(limit);
        }
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_limits.IdleTimeout);
        HttpResponseMessage sent;
        try
        {
            sent = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StalledException($"{url.Authority} did not answer within {_limits.IdleTimeout.TotalSeconds:0} s");
        }
        using var response = sent;
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return ContentHash.OfFile(partial); // everything had arrived already
        }
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new PeerUnavailableException($"{url.Authority} does not hold {url.Segments[^1]}");
        }
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            string why = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new PeerUnavailableException($"{url.Authority} refused to serve {url.Segments[^1]}: {(why.Length > 300 ? why[..300] : why)}");
        }
        response.EnsureSuccessStatusCode();
        bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
        await using var file = new FileStream(partial, resumed ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        await using var hashing = new HashingStream(file);
        if (resumed)
        {
            await hashing.HashExistingAsync(file, cancellationToken); // reads to the end, where the rest is appended
        }
        await using var received = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var body = response.Content.Headers.ContentEncoding.Contains(ZstdFileResult.Coding)
            ? new ZstdSharp.DecompressionStream(received, 1 << 20)
            : received;
        if (response.Content.Headers.ContentLength is { } announced && have + announced > limit && !response.Content.Headers.ContentEncoding.Contains(ZstdFileResult.Coding))
        {
            throw new TooLargeException(limit);
        }
        await CopyBoundedAsync(body, hashing, limit - have, url, idle, cancellationToken);
        await hashing.FlushAsync(cancellationToken);
        return hashing.Finish();
    }

    /// <summary>Copies at most <paramref name="budget"/> bytes (counted after decompression), restarting the idle clock at each read.</summary>
    private async Task CopyBoundedAsync(Stream from, Stream to, long budget, Uri url, CancellationTokenSource idle, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (true)
            {
                idle.CancelAfter(_limits.IdleTimeout);
                int read;
                try
                {
                    read = await from.ReadAsync(buffer, idle.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new StalledException($"{url.Authority} sent nothing for {_limits.IdleTimeout.TotalSeconds:0} s");
                }
                if (read == 0)
                {
                    return;
                }
                budget -= read;
                if (budget < 0)
                {
                    throw new TooLargeException(_limits.MaxBytes);
                }
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class StalledException(string message) : IOException(message);

    private sealed class TooLargeException(long limit) : Exception($"more than {limit} bytes")
    {
        public long Limit { get; } = limit;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
