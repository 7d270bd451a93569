using System.Text.Json;

namespace SwarmLearning.Identity.Authority;

/// <summary>
/// Append-only JSON lines (<c>audit.log</c>): every issuance, renewal, refusal, token creation and removal, with time,
/// SPIFFE ID, certificate serial and reason. Never the token secrets or keys.
/// </summary>
public sealed class AuditLog(string path, TimeProvider time)
{
    private readonly Lock _gate = new();

    /// <summary>The log's path.</summary>
    public string Path => path;

    /// <summary>Appends one entry.</summary>
    public void Write(string @event, string? spiffeId, string? detail = null, string? serial = null, string? peer = null)
    {
        string line = JsonSerializer.Serialize(new { time = time.GetUtcNow(), @event, spiffe_id = spiffeId, serial, peer, detail }, AuditJson.Options);
        lock (_gate)
        {
            File.AppendAllText(path, line + "\n");
        }
    }
}

internal static class AuditJson
{
    public static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
}
