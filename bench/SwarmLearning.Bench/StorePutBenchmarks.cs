using BenchmarkDotNet.Attributes;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Bench;

/// <summary>
/// An SL node storing a new 10M-parameter (40 MB) model under its content hash, as every node does at every sync:
/// the way it was until 2026-11-29 (hash the model, then save it, hashing again; the baseline) against saving and
/// hashing in one pass. Each operation removes the file again, so every put is of a new model.
/// </summary>
public class StorePutBenchmarks
{
    private ModelState _model = null!;
    private string _directory = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = Models.Make(1, 10_000_000);
        _directory = Directory.CreateTempSubdirectory("bench-store-").FullName;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Baseline = true, Description = "hash, then save (two passes; before)")]
    public ContentHash HashThenSave()
    {
        var hash = SafetensorsWriter.Hash(_model);
        string path = PathOf(hash);
        SafetensorsWriter.Save(_model, path);
        File.Delete(path);
        return hash;
    }

    [Benchmark(Description = "save by hash (one pass; now)")]
    public ContentHash SaveByHash()
    {
        var hash = SafetensorsWriter.SaveByHash(_model, _directory, h => h.Hex + ".safetensors");
        File.Delete(PathOf(hash));
        return hash;
    }

    private string PathOf(ContentHash hash) => Path.Combine(_directory, hash.Hex + ".safetensors");
}
