using System.Collections.Concurrent;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.InMemory;

/// <summary>
/// Parameter stores of many nodes in one process, with a switch per node to make it unreachable (a crash or a
/// network cut). Files are kept as safetensors bytes and verified against their hash on every fetch, as over the wire.
/// </summary>
public sealed class InMemoryParameterNetwork
{
    private readonly ConcurrentDictionary<string, Store> _stores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _down = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _dripping = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string, string), bool> _cut = new();
    private readonly ConcurrentDictionary<string, TimeSpan> _slow = new(StringComparer.Ordinal);

    /// <summary>The number of files fetched between nodes so far.</summary>
    public int Transfers => _transfers;

    private int _transfers;

    /// <summary>Returns the store of <paramref name="nodeId"/> (kept across restarts, as a node's disk is).</summary>
    public IParameterStore StoreOf(string nodeId) => _stores.GetOrAdd(nodeId, _ => new Store());

    /// <summary>Returns a transport that fetches into <paramref name="nodeId"/>'s store.</summary>
    public IParameterTransport TransportOf(string nodeId) => new Transport(this, nodeId);

    /// <summary>Makes a node unreachable or reachable again.</summary>
    public void SetReachable(string nodeId, bool reachable) => _down[nodeId] = !reachable;

    /// <summary>
    /// Makes a node serve its files one byte at a time, as a Byzantine file server may: a fetch from it never ends until
    /// the fetcher gives up (its cancellation), though the node answers.
    /// </summary>
    public void SetDripping(string nodeId, bool dripping) => _dripping[nodeId] = dripping;

    /// <summary>Cuts (or mends) the link between two nodes: neither can fetch from the other; both still reach everyone else.</summary>
    public void SetLinkCut(string a, string b, bool cut)
    {
        _cut[(a, b)] = cut;
        _cut[(b, a)] = cut;
    }

    /// <summary>Makes every file a node serves arrive <paramref name="delay"/> late (a slow link), or on time again with zero.</summary>
    public void SetSlow(string nodeId, TimeSpan delay) => _slow[nodeId] = delay;

    /// <summary>Forgets everything a node stored (a node that comes back with an empty disk).</summary>
    public void Wipe(string nodeId) => _stores.TryRemove(nodeId, out _);

    private sealed class Store : IParameterStore
    {
        private readonly ConcurrentDictionary<ContentHash, byte[]> _files = new();

        public Task<ContentHash> PutAsync(ModelState model, CancellationToken cancellationToken)
        {
            using var buffer = new MemoryStream();
            var hash = SafetensorsWriter.Write(model, buffer);
            _files.TryAdd(hash, buffer.ToArray());
            return Task.FromResult(hash);
        }

        public Task<ModelState> GetAsync(ContentHash hash, CancellationToken cancellationToken) =>
            _files.TryGetValue(hash, out var bytes)
                ? Task.FromResult(SafetensorsReader.Read(new MemoryStream(bytes), $"store:{hash.Short}"))
                : throw new KeyNotFoundException($"this node does not hold parameter file {hash}");

        public bool Contains(ContentHash hash) => _files.ContainsKey(hash);

        public bool TryRead(ContentHash hash, out byte[] bytes) => _files.TryGetValue(hash, out bytes!);

        public void Add(ContentHash hash, byte[] bytes) => _files.TryAdd(hash, bytes);
    }

    private sealed class Transport(InMemoryParameterNetwork network, string nodeId) : IParameterTransport
    {
        public async Task FetchAsync(ContentHash hash, string peerNodeId, string? peerAddress, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var local = (Store)network.StoreOf(nodeId);
            if (local.Contains(hash))
            {
                return;
            }
            if (network._dripping.GetValueOrDefault(peerNodeId) && !network._down.GetValueOrDefault(peerNodeId))
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken); // a byte every so often: never done
            }
            if (network._down.GetValueOrDefault(peerNodeId) || network._down.GetValueOrDefault(nodeId) || network._cut.GetValueOrDefault((nodeId, peerNodeId)))
            {
                throw new PeerUnavailableException($"node '{peerNodeId}' is unreachable");
            }
            if (network._slow.GetValueOrDefault(peerNodeId) is { } slow && slow > TimeSpan.Zero)
            {
                await Task.Delay(slow, cancellationToken);
            }
            if (!network._stores.TryGetValue(peerNodeId, out var peer) || !peer.TryRead(hash, out var bytes))
            {
                throw new PeerUnavailableException($"node '{peerNodeId}' does not hold parameter file {hash.Short}");
            }
            if (ContentHash.Of(bytes) != hash)
            {
                throw new PeerUnavailableException($"node '{peerNodeId}' sent a file whose hash is not {hash.Short}");
            }
            local.Add(hash, bytes);
            Interlocked.Increment(ref network._transfers);
        }
    }
}
