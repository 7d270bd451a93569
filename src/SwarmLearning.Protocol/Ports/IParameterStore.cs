using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Protocol.Ports;

/// <summary>A node's content-addressed store of parameter files (what its file server serves to peers).</summary>
public interface IParameterStore
{
    /// <summary>
    /// Stores a model and returns its content hash (storing the same model twice is harmless). The store keeps its own
    /// copy (a file): the caller may overwrite the model's buffers afterwards.
    /// </summary>
    Task<ContentHash> PutAsync(ModelState model, CancellationToken cancellationToken);

    /// <summary>Loads a stored model; throws if this store does not hold it.</summary>
    Task<ModelState> GetAsync(ContentHash hash, CancellationToken cancellationToken);

    /// <summary>True when the store holds the content.</summary>
    bool Contains(ContentHash hash);
}

/// <summary>Moves parameter files between nodes: fetches content from a peer into the local store, verifying its hash.</summary>
public interface IParameterTransport
{
    /// <summary>Fetches <paramref name="hash"/> from <paramref name="peerNodeId"/> into the local store; throws <see cref="PeerUnavailableException"/> on failure.</summary>
    Task FetchAsync(ContentHash hash, string peerNodeId, string? peerAddress, CancellationToken cancellationToken);
}

/// <summary>A peer could not deliver a parameter file (down, unreachable, or it does not hold it).</summary>
public sealed class PeerUnavailableException(string message) : Exception(message);
