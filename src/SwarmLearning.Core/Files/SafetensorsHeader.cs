
using System.Text.Json;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Files;

/// <summary>One tensor's entry in a safetensors header.</summary>
internal sealed record HeaderEntry(string Name, DType DType, long[] Shape, long Begin, long End);

/// <summary>Parses and checks a safetensors JSON header; every problem becomes a <see cref="ModelFileException"/> naming the file.</summary>
internal static class SafetensorsHeader
{
    public static (List<HeaderEntry> Entries, Dictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> header, string source)
    {
        var entries = new List<HeaderEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 8 });
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, source, "the header is not a JSON object");
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                if (!seen.Add(name))
                {
                    throw Fail(source, $"tensor name '{name}' appears twice in the header");
                }
                if (name == "__metadata__")
                {
                    ReadMetadata(ref reader, metadata, source);
                }
                else
                {
                    entries.Add(ReadEntry(ref reader, name, source));
                }
            }
        }
        catch (JsonException e)
        {
            throw Fail(source, $"the header is not valid JSON ({e.Message})");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // A value of the wrong kind where a name or number belongs, or text that is not UTF-8 (found by SafetensorsFuzzTests).
            throw Fail(source, $"the header is not a valid safetensors header ({e.Message})");
        }
        return (entries, metadata);
    }

    /// <summary>Checks that the tensors tile the data section exactly: no overlap, no gap, nothing out of range.</summary>
    public static List<HeaderEntry> CheckLayout(List<HeaderEntry> entries, long? dataLength, string source)
    {
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long position = 0;
        foreach (var entry in ordered)
        {
            if (entry.Begin < position)
            {
                throw Fail(source, $"tensor '{entry.Name}' (bytes {entry.Begin}..{entry.End}) overlaps the tensor before it (which ends at {position})");
            }
            if (entry.Begin > position)
            {
                throw Fail(source, $"bytes {position}..{entry.Begin} of the data belong to no tensor (a gap before '{entry.Name}')");
            }
            if (dataLength is long length && entry.End > length)
            {
                throw Fail(source, $"tensor '{entry.Name}' ends at byte {entry.End} of the data but the file has only {length} data bytes: the file is truncated or its offsets are out of range");
            }
            position = entry.End;
        }
        if (dataLength is long total && position < total)
        {
            throw Fail(source, $"the file has {total - position} bytes after the last tensor that belong to no tensor");
        }
        return ordered;
    }

    public static ModelFileException Fail(string source, string problem) =>
        new($"model file '{source}' is not a valid safetensors file: {problem}");

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string source)
    {
        Expect(ref reader, JsonTokenType.StartObject, source, "__metadata__ must be an object of strings");
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            Expect(ref reader, JsonTokenType.String, source, $"__metadata__ value '{key}' must be a string");
            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail(source, $"__metadata__ key '{key}' appears twice");
            }
        }
    }

    private static HeaderEntry ReadEntry(ref Utf8JsonReader reader, string name, string source)
    {
        Expect(ref reader, JsonTokenType.StartObject, source, $"the entry for tensor '{name}' is not an object");
        string? dtypeName = null;
        long[]? shape = null;
        long[]? offsets = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            switch (field)
            {
                case "dtype":
                    Expect(ref reader, JsonTokenType.String, source, $"tensor '{name}': dtype must be a string");
                    dtypeName = reader.GetString();
                    break;
                case "shape":
                    shape = ReadNumbers(ref reader, source, $"tensor '{name}': shape");
                    break;
                case "data_offsets":
                    offsets = ReadNumbers(ref reader, source, $"tensor '{name}': data_offsets");
                    break;
                default:
                    throw Fail(source, $"tensor '{name}' has an unknown field '{field}'");
            }
        }
        if (dtypeName is null || shape is null || offsets is null)
        {
            throw Fail(source, $"tensor '{name}' lacks {(dtypeName is null ? "dtype" : shape is null ? "shape" : "data_offsets")}");
        }
        if (!DTypes.TryParse(dtypeName, out var dtype))
        {
            throw Fail(source, $"tensor '{name}' has dtype '{dtypeName}', which is not supported (supported: {DTypes.Supported})");
        }
        if (offsets.Length != 2 || offsets[0] > offsets[1])
        {
            throw Fail(source, $"tensor '{name}' has data_offsets [{string.Join(',', offsets)}]; expected [begin,end] with begin <= end");
        }
        long expected;
        try
        {
            expected = Tensor.ByteCount(dtype, shape);
        }
        catch (OverflowException)
        {
            throw Fail(source, $"tensor '{name}' has shape [{string.Join(',', shape)}], too large to address");
        }
        if (expected != offsets[1] - offsets[0])
        {
            throw Fail(source, $"tensor '{name}' has shape [{string.Join(',', shape)}] of {dtypeName} ({expected} bytes) but its offsets span {offsets[1] - offsets[0]} bytes");
        }
        if (expected > Array.MaxLength)
        {
            throw Fail(source, $"tensor '{name}' has {expected} bytes; one tensor may hold at most {Array.MaxLength} bytes");
        }
        return new HeaderEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadNumbers(ref Utf8JsonReader reader, string source, string what)
    {
        Expect(ref reader, JsonTokenType.StartArray, source, $"{what} must be an array of non-negative integers");
        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value) || value < 0)
            {
                throw Fail(source, $"{what} must be an array of non-negative integers");
            }
            values.Add(value);
        }
        return [.. values];
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string source, string problem)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw Fail(source, problem);
        }
    }

}
