using System.Buffers.Binary;
using System.IO.Compression;
using SwarmLearning.Core;

namespace SwarmLearning.TorchSharp.Data;

/// <summary>Reads IDX files (the MNIST family's format), plain or gzip-compressed, unsigned-byte data only.</summary>
public static class IdxFile
{
    /// <summary>Reads the dimensions and the data; errors name the file and what is wrong.</summary>
    public static (int[] Dimensions, byte[] Data) Read(string path)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        Span<byte> magic = stackalloc byte[4];
        if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || magic[0] != 0 || magic[1] != 0)
        {
            throw new SwarmException($"'{path}' is not an IDX file (bad magic number)");
        }
        if (magic[2] != 0x08)
        {
            throw new SwarmException($"'{path}' holds IDX type 0x{magic[2]:x2}; only unsigned bytes (0x08) are supported");
        }
        var dimensions = new int[magic[3]];
        Span<byte> word = stackalloc byte[4];
        long count = 1;
        for (int i = 0; i < dimensions.Length; i++)
        {
            if (stream.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
            {
                throw new SwarmException($"'{path}' ends inside its header (truncated)");
            }
            dimensions[i] = BinaryPrimitives.ReadInt32BigEndian(word);
            count *= dimensions[i];
        }
        if (count > Array.MaxLength)
        {
            throw new SwarmException($"'{path}' declares {count} values, too many for one array");
        }
        var data = new byte[count];
        int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
        {
            throw new SwarmException($"'{path}' is truncated: {read} of {data.Length} data bytes present");
        }
        return (dimensions, data);
    }
}
