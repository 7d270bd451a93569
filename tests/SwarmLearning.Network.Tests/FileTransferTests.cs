using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Network.Tests;

/// <summary>Parameter files between SL nodes: streamed over mTLS, resumed after a cut, refused when the hash is wrong.</summary>
public sealed class FileTransferTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-files-" + Guid.NewGuid().ToString("N")[..8]);
    private CertificateAuthority _ca = null!;
    private FileParameterStore _serverStore = null!, _clientStore = null!;
    private ParameterFileServer _server = null!;
    private string _address = "";

    public async Task InitializeAsync()
    {
        _ca = CertificateAuthority.OpenOrCreate(Path.Combine(_root, "ca"), "swarm.local", TimeProvider.System);
        _serverStore = new FileParameterStore(Path.Combine(_root, "a"));
        _clientStore = new FileParameterStore(Path.Combine(_root, "b"));
        _server = await ParameterFileServer.StartAsync(_serverStore, Svid("sl/a"), "127.0.0.1", 0,
            (caller, _) => Task.FromResult(caller.ToString().EndsWith("/sl/outsider", StringComparison.Ordinal) ? "not a member of this node's contract" : null), CancellationToken.None);
        _address = $"https://127.0.0.1:{_server.Port}";
    }

    [Fact]
    public async Task A_file_arrives_whole_and_a_cut_download_resumes()
    {
        var model = Model(3_000_000); // 12 MB
        var hash = await _serverStore.PutAsync(model, CancellationToken.None);
        using var transport = new HttpsParameterTransport(_clientStore, Svid("sl/b"));

        // Only the rest is asked for after a cut: a partial file of 5 MB of zeros is kept and continued, so the result
        // fails its hash (a client that started over would not notice) and is discarded...
        File.WriteAllBytes(_clientStore.PathOf(hash) + ".part", new byte[5_000_000]);
        var spoiled = await Assert.ThrowsAsync<PeerUnavailableException>(() => transport.FetchAsync(hash, "a", _address, CancellationToken.None));
        Assert.Contains("discarded", spoiled.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_clientStore.PathOf(hash) + ".part"));

        // ...while the true first 5 MB, continued, give the file.
        byte[] bytes = File.ReadAllBytes(_serverStore.PathOf(hash));
        File.WriteAllBytes(_clientStore.PathOf(hash) + ".part", bytes[..5_000_000]);
        await transport.FetchAsync(hash, "a", _address, CancellationToken.None);
        Assert.True(_clientStore.Contains(hash));
        Assert.Equal(hash, ContentHash.OfFile(_clientStore.PathOf(hash)));
        Assert.Equal(hash, SafetensorsWriter.Hash(await _clientStore.GetAsync(hash, CancellationToken.None)));
    }

    [Fact]
    public async Task Compressed_fetches_arrive_whole_and_resume_uncompressed()
    {
        var model = new ModelState([Tensor.FromFloats("w", [1_000_000], Enumerable.Range(0, 1_000_000).Select(i => (float)(i % 16) / 8).ToArray())]);
        var hash = await _serverStore.PutAsync(model, CancellationToken.None);
        byte[] bytes = File.ReadAllBytes(_serverStore.PathOf(hash));

        // On the wire: zstd when asked for, and a good deal smaller for these repetitive weights.
        var client = Svid("sl/b");
        using (var http = new HttpClient(MutualTls.Handler(client, PeerPolicy.Under(client, SwarmIdentities.SwarmLearning))))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{_address}/v1/files/{hash.Hex}");
            request.Headers.AcceptEncoding.ParseAdd("zstd");
            using var response = await http.SendAsync(request);
            Assert.Equal(["zstd"], response.Content.Headers.ContentEncoding);
            byte[] wire = await response.Content.ReadAsByteArrayAsync();
            Assert.True(wire.Length < bytes.Length / 4, $"{wire.Length} compressed bytes for {bytes.Length}");
            using var decompressor = new ZstdSharp.Decompressor();
            Assert.Equal(bytes, decompressor.Unwrap(wire).ToArray());

            using var refusing = new HttpRequestMessage(HttpMethod.Get, $"{_address}/v1/files/{hash.Hex}");
            refusing.Headers.AcceptEncoding.ParseAdd("gzip, zstd;q=0");
            using var plain = await http.SendAsync(refusing);
            Assert.Empty(plain.Content.Headers.ContentEncoding);
            Assert.Equal(bytes, await plain.Content.ReadAsByteArrayAsync());

            using var garbled = new HttpRequestMessage(HttpMethod.Get, $"{_address}/v1/files/{hash.Hex}");
            garbled.Headers.TryAddWithoutValidation("Accept-Encoding", "zstd;q=high;;, ,=");
            using var fallback = await http.SendAsync(garbled);
            Assert.Equal(System.Net.HttpStatusCode.OK, fallback.StatusCode);
            Assert.Equal(bytes, await fallback.Content.ReadAsByteArrayAsync());
        }

        using var transport = new HttpsParameterTransport(_clientStore, client, compress: true);
        await transport.FetchAsync(hash, "a", _address, CancellationToken.None);
        Assert.Equal(hash, ContentHash.OfFile(_clientStore.PathOf(hash)));

        // A cut compressed download leaves decompressed bytes behind: the rest comes as a plain range.
        File.Delete(_clientStore.PathOf(hash));
        File.WriteAllBytes(_clientStore.PathOf(hash) + ".part", bytes[..1_500_000]);
        await transport.FetchAsync(hash, "a", _address, CancellationToken.None);
        Assert.Equal(hash, ContentHash.OfFile(_clientStore.PathOf(hash)));
    }

    [Fact]
    public async Task A_file_whose_bytes_do_not_match_its_hash_is_refused()
    {
        var hash = await _serverStore.PutAsync(Model(1000), CancellationToken.None);
        byte[] bytes = File.ReadAllBytes(_serverStore.PathOf(hash));
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(_serverStore.PathOf(hash), bytes); // the serving node's disk went bad, or it lies
        using var transport = new HttpsParameterTransport(_clientStore, Svid("sl/b"));
        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => transport.FetchAsync(hash, "a", _address, CancellationToken.None));
        Assert.Contains("discarded", error.Message, StringComparison.Ordinal);
        Assert.False(_clientStore.Contains(hash));
    }

    [Fact]
    public async Task Only_sl_nodes_may_fetch()
    {
        var hash = await _serverStore.PutAsync(Model(1000), CancellationToken.None);
        using var asSn = new HttpsParameterTransport(_clientStore, Svid("sn/x"));
        await Assert.ThrowsAsync<PeerUnavailableException>(() => asSn.FetchAsync(hash, "a", _address, CancellationToken.None));
        Assert.False(_clientStore.Contains(hash));
        using var missing = new HttpsParameterTransport(_clientStore, Svid("sl/b"));
        await Assert.ThrowsAsync<PeerUnavailableException>(() => missing.FetchAsync(ContentHash.Of([1, 2, 3]), "a", _address, CancellationToken.None));
    }

    [Fact]
    public async Task A_node_serves_its_files_only_to_the_callers_its_contract_allows_and_says_why()
    {
        var hash = await _serverStore.PutAsync(Model(1000), CancellationToken.None);
        using var outsider = new HttpsParameterTransport(_clientStore, Svid("sl/outsider"));
        var refused = await Assert.ThrowsAsync<PeerUnavailableException>(() => outsider.FetchAsync(hash, "a", _address, CancellationToken.None));
        Assert.Contains("not a member of this node's contract", refused.Message, StringComparison.Ordinal);
        Assert.False(_clientStore.Contains(hash));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_peer_sending_more_than_the_models_layout_allows_is_cut_off(bool compress)
    {
        // The rogue peer holds a 4 MB file under the hash asked for; this training's model is 1,000 floats.
        var hash = await _serverStore.PutAsync(new ModelState([Tensor.FromFloats("w", [1_000_000], new float[1_000_000])]), CancellationToken.None);
        var limits = new DownloadLimits();
        limits.Expect(new ModelSignature([new TensorSpec("w", DType.F32, [1000])]));
        using var transport = new HttpsParameterTransport(_clientStore, Svid("sl/b"), compress, limits);
        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => transport.FetchAsync(hash, "a", _address, CancellationToken.None));
        Assert.Contains("more than this training's model can have", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_clientStore.PathOf(hash) + ".part"));
        Assert.False(_clientStore.Contains(hash));
    }

    [Fact]
    public async Task A_peer_that_goes_silent_is_given_up_after_the_idle_time()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0); // accepts, then says nothing
        silent.Start();
        using var transport = new HttpsParameterTransport(_clientStore, Svid("sl/b"), limits: new DownloadLimits { IdleTimeout = TimeSpan.FromSeconds(1) });
        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() =>
            transport.FetchAsync(ContentHash.Of([4, 5, 6]), "a", $"https://127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}", CancellationToken.None));
        Assert.Contains("did not answer within 1 s", error.Message, StringComparison.Ordinal);
    }

    private static ModelState Model(int floats) =>
        new([Tensor.FromFloats("w", [floats], Enumerable.Range(0, floats).Select(i => (float)Math.Sin(i)).ToArray())]);

    private StaticSvidSource Svid(string path) =>
        new(_ca.IssueCredential(SpiffeId.Parse("spiffe://swarm.local/" + path), TimeSpan.FromHours(1), DateTimeOffset.UtcNow), new TrustBundle([_ca.Certificate]));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
