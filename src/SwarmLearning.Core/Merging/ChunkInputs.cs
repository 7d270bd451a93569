using System.Runtime.InteropServices;

namespace SwarmLearning.Core.Merging;

/// <summary>The same range of coordinates in every input (float32 bytes), in canonical order.</summary>
public readonly struct ChunkInputs
{
    private readonly byte[][] _sources;
    private readonly int _start;

    internal ChunkInputs(byte[][] sources, int start, int length)
    {
        _sources = sources;
        _start = start;
        Length = length;
    }

    /// <summary>The number of inputs.</summary>
    public int Count => _sources.Length;

    /// <summary>The number of coordinates in the chunk.</summary>
    public int Length { get; }

    /// <summary>Input <paramref name="i"/>'s coordinates in this chunk.</summary>
    public ReadOnlySpan<float> this[int i] => MemoryMarshal.Cast<byte, float>(_sources[i].AsSpan(_start * 4, Length * 4));
}
