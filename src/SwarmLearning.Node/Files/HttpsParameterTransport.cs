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
/// </summary>
public sealed class HttpsParameterTransport(FileParameterStore store, ISvidSource identity, bool compress = false) : IParameterTransport, IDisposable
{
    private readonly HttpClient _http = new(MutualTls.Handler(identity, PeerPolicy.Under(identity, SwarmIdentities.SwarmLearning))) { Timeout = Timeout.InfiniteTimeSpan };

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
        }
        if (received != hash)
        {
            File.Delete(partial);
            throw new PeerUnavailableException($"node '{peerNodeId}' sent a file whose SHA-256 is {received.Short}, not {hash.Short}; discarded");
        }
        File.Move(partial, store.PathOf(hash), overwrite: true);
    }

    /// <summary>A cut connection, or a compressed stream that broke off: the next attempt resumes uncompressed.</summary>
    private static bool IsTransient(Exception e) => e is HttpRequestException or IOException or ZstdSharp.ZstdException;

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
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return ContentHash.OfFile(partial); // everything had arrived already
        }
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new PeerUnavailableException($"{url.Authority} does not hold {url.Segments[^1]}");
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
        await body.CopyToAsync(hashing, 1 << 20, cancellationToken);
        await hashing.FlushAsync(cancellationToken);
        return hashing.Finish();
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
