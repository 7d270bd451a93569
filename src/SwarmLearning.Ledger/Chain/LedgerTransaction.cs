using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Ledger.Chain;

/// <summary>What a ledger transaction does: a training-contract transaction, or the registration of a ledger key.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "action")]
[JsonDerivedType(typeof(ContractAction), "contract")]
[JsonDerivedType(typeof(RegisterKey), "register-key")]
[JsonDerivedType(typeof(AnnounceSn), "announce-sn")]
[JsonDerivedType(typeof(RotateKey), "rotate-key")]
public abstract record LedgerAction;

/// <summary>A training-contract transaction (the foundation's state machine applies it).</summary>
public sealed record ContractAction(ContractTx Tx) : LedgerAction;

/// <summary>
/// Registers <paramref name="Identity"/>'s long-lived ledger key (SubjectPublicKeyInfo, base64), sent by an SN after it
/// checked the identity's SVID. Old blocks keep verifying with keys on the chain alone after SVIDs rotate.
/// </summary>
public sealed record RegisterKey(string Identity, string PublicKey) : LedgerAction;

/// <summary>
/// Replaces <paramref name="Identity"/>'s ledger key: sent by the identity itself (so signed with the old key), or by an
/// operator for a node that lost its key, with a <paramref name="Reason"/> that stays on the chain. Never for an SN.
/// </summary>
public sealed record RotateKey(string Identity, string PublicKey, string? Reason = null) : LedgerAction;

/// <summary>
/// Records where an SN serves: its Raft endpoint, its API URL (so any SN can forward to the leader's API) and its file
/// server URL (the block archive, for SNs that catch up and for auditors).
/// </summary>
public sealed record AnnounceSn(string Identity, string RaftEndPoint, string ApiUrl, string? FileUrl = null) : LedgerAction;

/// <summary>The signed part of a transaction: chain id and nonce stop replays on another chain or twice on this one.</summary>
public sealed record TxBody(string ChainId, string Sender, long Nonce, LedgerAction Action);

/// <summary>A transaction as it is stored in a block: the body and its sender's ECDSA P-256 signature (IEEE P1363, base64).</summary>
public sealed record SignedTransaction(TxBody Body, string Signature)
{
    /// <summary>The exact bytes signed: the body's canonical JSON.</summary>
    public static byte[] SigningBytes(TxBody body) => JsonSerializer.SerializeToUtf8Bytes(body, LedgerJson.Options);

    /// <summary>Signs <paramref name="body"/> with <paramref name="key"/>.</summary>
    public static SignedTransaction Sign(TxBody body, ECDsa key) =>
        new(body, Convert.ToBase64String(key.SignData(SigningBytes(body), HashAlgorithmName.SHA256)));

    /// <summary>SHA-256 of the whole signed transaction: its id and its Merkle leaf.</summary>
    [JsonIgnore]
    public byte[] Hash => SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(this, LedgerJson.Options));

    /// <summary>Whether <paramref name="publicKey"/> (SubjectPublicKeyInfo, base64) signed this body.</summary>
    public bool IsSignedBy(string publicKey)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKey), out _);
            return key.VerifyData(SigningBytes(Body), Convert.FromBase64String(Signature), HashAlgorithmName.SHA256);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>The ledger's JSON form: the contract's, so transactions and state serialize the same everywhere.</summary>
public static class LedgerJson
{
    /// <summary>The serializer options.</summary>
    public static JsonSerializerOptions Options => ContractJson.Options;
}
