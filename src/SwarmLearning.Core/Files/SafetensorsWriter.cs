using System.Buffers.Binary;
using System.Text.Json;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Files;

/// <summary>Writes models as safetensors: deterministic bytes (same model, same hash), streamed, atomic on disk.</summary>
public static class SafetensorsWriter
{
    /// <summary>Writes the model to a stream and returns the SHA-256 of the bytes written.</summary>
    public static ContentHash Write(ModelState model, Stream destination)
    {
        using var hashing = new HashingStream(destination);
        byte[] header = BuildHeader(model);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        hashing.Write(length);
        hashing.Write(header);
        foreach (var tensor in model.Tensors)
        {
            hashing.Write(tensor.Data);
        }
        hashing.Flush();
        return hashing.Finish();
    }

    /// <summary>Returns the content hash the model would have as a file, without writing one.</summary>
    public static ContentHash Hash(ModelState model) => Write(model, Stream.Null);

    /// <summary>Saves the model to <paramref name="path"/> atomically (temporary file, flush, rename) and returns its hash.</summary>
    public static ContentHash Save(ModelState model, string path)
    {
        string full = Path.GetFullPath(path);
        var (temporary, hash) = WriteTemporary(model, Path.GetDirectoryName(full)!, Path.GetFileName(full));
        Publish(temporary, full);
        return hash;
    }

    /// <summary>
    /// Saves the model in <paramref name="directory"/> under the name <paramref name="nameOf"/> gives its content hash,
    /// atomically, hashing while writing (one pass over the bytes); when that file exists already it is kept.
    /// </summary>
    public static ContentHash SaveByHash(ModelState model, string directory, Func<ContentHash, string> nameOf)
    {
        string full = Path.GetFullPath(directory);
        var (temporary, hash) = WriteTemporary(model, full, "by-hash");
        string target = Path.Combine(full, nameOf(hash));
        if (File.Exists(target))
        {
            File.Delete(temporary); // same hash, same bytes
        }
        else
        {
            Publish(temporary, target);
        }
        return hash;
    }

    private static (string Temporary, ContentHash Hash) WriteTemporary(ModelState model, string directory, string name)
    {
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.partial");
        try
        {
            using var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            var hash = Write(model, file);
            file.Flush(flushToDisk: true);
            return (temporary, hash);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private static void Publish(string temporary, string path)
    {
        try
        {
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private static byte[] BuildHeader(ModelState model)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (model.Metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in model.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in model.Tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.DType.ToSafetensorsName());
                json.WriteStartArray("shape");
                foreach (long dim in tensor.Shape)
                {
                    json.WriteNumberValue(dim);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Data.LongLength;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data starts 8-byte aligned, as the reference implementation does.
        int padded = (int)((buffer.Length + 8 + 7) / 8 * 8 - 8);
        while (buffer.Length < padded)
        {
            buffer.WriteByte((byte)' ');
        }
        return buffer.ToArray();
    }
}
