using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Identity.Authority;

/// <summary>The identity server's persistent state: join tokens (by secret hash) and registered identities.</summary>
internal sealed class AuthorityState
{
    public Dictionary<string, TokenRecord> Tokens { get; init; } = [];
    public SortedDictionary<string, IdentityRecord> Identities { get; init; } = new(StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static AuthorityState Load(string path)
    {
        if (!File.Exists(path))
        {
            return new AuthorityState();
        }
        try
        {
            return JsonSerializer.Deserialize<AuthorityState>(File.ReadAllText(path), Json) ?? new AuthorityState();
        }
        catch (JsonException e)
        {
            throw new Core.SwarmException($"the identity server's state file {path} is unreadable ({e.Message}); restore it from a backup or move it away to start with no tokens or identities");
        }
    }

    public void Save(string path) => OwnerOnlyFile.WriteText(path, JsonSerializer.Serialize(this, Json));
}

/// <summary>A join token: which ID it attests, until when, and whether it was used.</summary>
internal sealed record TokenRecord(string SpiffeId, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt = null);

/// <summary>
/// An identity the server has issued: the last certificate (and the one before it, so a holder that crashed between
/// the server's answer and saving the renewed SVID can still renew), and whether an operator removed it. Only those
/// two certificates renew: a key from before an attestation or removal never does.
/// </summary>
internal sealed record IdentityRecord(DateTimeOffset RegisteredAt, string LastSerial, DateTimeOffset LastExpiresAt, DateTimeOffset? RemovedAt = null, int Issued = 1, string? PreviousSerial = null)
{
    public bool MayRenew(string serial) => RemovedAt is null && (serial == LastSerial || serial == PreviousSerial);
}
