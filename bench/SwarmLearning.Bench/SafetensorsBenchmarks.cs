using BenchmarkDotNet.Attributes;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Bench;

/// <summary>Writing and reading a 10M-parameter (40 MB) model, against a plain copy of the same bytes.</summary>
public class SafetensorsBenchmarks
{
    private ModelState _model = null!;
    private byte[] _file = null!;
    private byte[] _copyTarget = null!;
    private MemoryStream _output = null!;
    private string _path = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = Models.Make(1, 10_000_000);
        _output = new MemoryStream((int)_model.ByteCount + 4096);
        SafetensorsWriter.Write(_model, _output);
        _file = _output.ToArray();
        _copyTarget = new byte[_file.Length];
        _path = Path.Combine(Path.GetTempPath(), $"bench-{Environment.ProcessId}.safetensors");
        SafetensorsWriter.Save(_model, _path);
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Baseline = true, Description = "copy 40 MB (baseline)")]
    public void Copy() => _file.AsSpan().CopyTo(_copyTarget);

    [Benchmark(Description = "write to memory, with SHA-256")]
    public ContentHash Write()
    {
        _output.Position = 0;
        return SafetensorsWriter.Write(_model, _output);
    }

    [Benchmark(Description = "SHA-256 of the file bytes alone")]
    public ContentHash HashOnly() => ContentHash.Of(_file);

    [Benchmark(Description = "read from memory")]
    public ModelState Read() => SafetensorsReader.Read(new MemoryStream(_file, writable: false), "bench");

    [Benchmark(Description = "save to disk (atomic, fsync, SHA-256)")]
    public ContentHash Save() => SafetensorsWriter.Save(_model, _path);

    [Benchmark(Description = "load from disk (page cache)")]
    public ModelState Load() => SafetensorsReader.Load(_path);
}
