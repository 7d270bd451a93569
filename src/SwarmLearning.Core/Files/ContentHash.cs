using System.Security.Cryptography;

namespace SwarmLearning.Core.Files;

/// <summary>A SHA-256 digest naming content (a parameter file); written as 64 lowercase hex digits.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(ContentHashJsonConverter))]
public readonly record struct ContentHash
{
    private readonly string? _hex;

    private ContentHash(string hex) => _hex = hex;

    /// <summary>The hash of nothing-yet: used as the base of a training's first round.</summary>
    public static ContentHash None => default;

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => _hex is null;

    /// <summary>The 64 lowercase hex digits, or "none".</summary>
    public string Hex => _hex ?? "none";

    /// <summary>Creates a hash from a 32-byte SHA-256 digest.</summary>
    public static ContentHash FromDigest(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"a SHA-256 digest has 32 bytes, not {digest.Length}");
        }
        return new ContentHash(Convert.ToHexStringLower(digest));
    }

    /// <summary>Parses 64 hex digits (or "none"), with a clear error otherwise.</summary>
    public static ContentHash Parse(string text)
    {
        if (TryParse(text, out var hash))
        {
            return hash;
        }
        throw new FormatException($"'{text}' is not a content hash: expected 64 hex digits (SHA-256)");
    }

    /// <summary>Parses 64 hex digits (or "none").</summary>
    public static bool TryParse(string? text, out ContentHash hash)
    {
        hash = None;
        if (text == "none")
        {
            return true;
        }
        if (text is null || text.Length != 64 || !text.All(char.IsAsciiHexDigit))
        {
            return false;
        }
        hash = new ContentHash(text.ToLowerInvariant());
        return true;
    }

    /// <summary>Hashes a byte span.</summary>
    public static ContentHash Of(ReadOnlySpan<byte> bytes) => FromDigest(SHA256.HashData(bytes));

    /// <summary>Hashes a file's bytes, streaming.</summary>
    public static ContentHash OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return FromDigest(SHA256.HashData(stream));
    }

    /// <summary>A short form for logs (first 12 digits).</summary>
    public string Short => _hex is null ? "none" : _hex[..12];

    /// <inheritdoc />
    public override string ToString() => Hex;
}

/// <summary>Writes a <see cref="ContentHash"/> as its hex string (or "none") in JSON.</summary>
public sealed class ContentHashJsonConverter : System.Text.Json.Serialization.JsonConverter<ContentHash>
{
    /// <inheritdoc />
    public override ContentHash Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        ContentHash.TryParse(reader.GetString(), out var hash) ? hash : throw new System.Text.Json.JsonException($"'{reader.GetString()}' is not a content hash (64 hex digits)");

    /// <inheritdoc />
    public override void Write(System.Text.Json.Utf8JsonWriter writer, ContentHash value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Hex);
}
