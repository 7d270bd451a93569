using System.Buffers.Binary;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Files;

/// <summary>Reads safetensors files, streaming each tensor straight into its own buffer, refusing malformed input with a clear error.</summary>
public static class SafetensorsReader
{
    /// <summary>The largest header accepted; the reference implementation uses the same 100 MB bound.</summary>
    public const int MaxHeaderBytes = 100_000_000;

    /// <summary>Loads a model from a file.</summary>
    public static ModelState Load(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (FileNotFoundException)
        {
            throw new ModelFileException($"model file '{path}' does not exist");
        }
        using (file)
        {
            return Read(file, path);
        }
    }

    /// <summary>Reads a model from a stream; <paramref name="source"/> names it in errors.</summary>
    public static ModelState Read(Stream stream, string source)
    {
        long? total = stream.CanSeek ? stream.Length - stream.Position : null;
        Span<byte> lengthBytes = stackalloc byte[8];
        int got = stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false);
        if (got < 8)
        {
            throw SafetensorsHeader.Fail(source, $"it has {got} bytes, fewer than the 8-byte header length that starts every safetensors file (truncated or empty)");
        }
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (total is long size && headerLength > (ulong)(size - 8))
        {
            throw SafetensorsHeader.Fail(source, $"the header length field says {headerLength} bytes but only {size - 8} follow it (truncated, or not a safetensors file)");
        }
        if (headerLength > MaxHeaderBytes)
        {
            throw SafetensorsHeader.Fail(source, $"the header length field says {headerLength} bytes, more than the {MaxHeaderBytes} allowed (not a safetensors file?)");
        }
        var header = new byte[headerLength];
        if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
        {
            throw SafetensorsHeader.Fail(source, $"the file ends inside its {headerLength}-byte header (truncated)");
        }
        var (entries, metadata) = SafetensorsHeader.Parse(header, source);
        long? dataLength = total - 8 - (long)headerLength;
        var ordered = SafetensorsHeader.CheckLayout(entries, dataLength, source);

        var tensors = new List<Tensor>(ordered.Count);
        foreach (var entry in ordered)
        {
            var data = GC.AllocateUninitializedArray<byte>((int)(entry.End - entry.Begin));
            int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (read < data.Length)
            {
                throw SafetensorsHeader.Fail(source, $"the file ends inside tensor '{entry.Name}' ({read} of {data.Length} bytes present): truncated");
            }
            tensors.Add(new Tensor(entry.Name, entry.DType, entry.Shape, data));
        }
        if (dataLength is null && stream.ReadByte() >= 0)
        {
            throw SafetensorsHeader.Fail(source, "there are bytes after the last tensor that belong to no tensor");
        }
        return new ModelState(tensors, metadata);
    }
}
