using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Node.Files;

/// <summary>
/// An SL node's parameter files on disk, one safetensors file per content hash (<c>HASH.safetensors</c>), written
/// atomically: what its file server serves and where fetched files land after their hash was checked.
/// </summary>
public sealed class FileParameterStore : IParameterStore
{
    /// <summary>Opens (creating) the store in <paramref name="directory"/>.</summary>
    public FileParameterStore(string directory)
    {
        Directory = directory;
        Identity.OwnerOnlyFile.CreateDirectory(directory);
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Where the file for <paramref name="hash"/> is (or would be).</summary>
    public string PathOf(ContentHash hash) => Path.Combine(Directory, NameOf(hash));

    /// <inheritdoc />
    public Task<ContentHash> PutAsync(ModelState model, CancellationToken cancellationToken) =>
        Task.FromResult(SafetensorsWriter.SaveByHash(model, Directory, NameOf));

    private static string NameOf(ContentHash hash) => hash.Hex + ".safetensors";

    /// <inheritdoc />
    public Task<ModelState> GetAsync(ContentHash hash, CancellationToken cancellationToken) =>
        Contains(hash) ? Task.FromResult(SafetensorsReader.Load(PathOf(hash))) : throw new KeyNotFoundException($"this node does not hold parameter file {hash}");

    /// <inheritdoc />
    public bool Contains(ContentHash hash) => !hash.IsNone && File.Exists(PathOf(hash));
}
