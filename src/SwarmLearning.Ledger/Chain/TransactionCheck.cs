using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// The shape every transaction must have before anything acts on it: each field present, well-formed and within its
/// bounds. The SN API refuses a transaction that fails it (400, naming the field) and the chain refuses it as
/// <c>malformed</c> (so a proposer never meets a transaction it cannot execute). Pure and deterministic: every SN and
/// the offline verifier reach the same answer. docs/security.md lists the limits.
/// </summary>
public static class TransactionCheck
{
    /// <summary>The largest transaction, as JSON: a model signature of some ten thousand tensors fits.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The longest contract name, node name, chain id or reason.</summary>
    public const int MaxNameLength = ContractTxShape.MaxNameLength;

    /// <summary>The most tensors a model signature may list.</summary>
    public const int MaxTensors = ContractTxShape.MaxTensors;

    /// <summary>JSON options that refuse a null in a non-nullable field and a missing constructor parameter (for input from the network).</summary>
    public static JsonSerializerOptions StrictJson { get; } = new(LedgerJson.Options)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>Null when <paramref name="transaction"/> is well-formed, otherwise "field: what is wrong".</summary>
    public static string? Problem(SignedTransaction? transaction)
    {
        if (transaction is null)
        {
            return "the transaction is missing";
        }
        if (transaction.Body is not { } body)
        {
            return "body: missing";
        }
        if (!IsSignature(transaction.Signature))
        {
            return "signature: not an ECDSA P-256 signature (64 bytes, base64)";
        }
        return ContractTxShape.NameProblem(body.ChainId, "body.chainId")
            ?? (!SpiffeId.TryParse(body.Sender, out _, out string? senderError) ? $"body.sender: {senderError}" : null)
            ?? (body.Nonce <= 0 ? $"body.nonce: must be positive (got {body.Nonce})" : null)
            ?? ActionProblem(body.Action);
    }

    /// <summary>Null when <paramref name="publicKey"/> is an ECDSA P-256 SubjectPublicKeyInfo in base64, otherwise why not.</summary>
    public static string? KeyProblem(string? publicKey)
    {
        if (string.IsNullOrEmpty(publicKey))
        {
            return "missing";
        }
        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKey), out int read);
            var curve = key.ExportParameters(false).Curve;
            return read != Convert.FromBase64String(publicKey).Length ? "has bytes after the key"
                : curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value ? "is not a P-256 key"
                : null;
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return "is not an ECDSA P-256 public key (SubjectPublicKeyInfo, base64)";
        }
    }

    private static string? ActionProblem(LedgerAction? action) => action switch
    {
        null => "body.action: missing",
        RegisterKey k => Identity(k.Identity, "body.action.identity") ?? Key(k.PublicKey, "body.action.publicKey"),
        RotateKey k => Identity(k.Identity, "body.action.identity") ?? Key(k.PublicKey, "body.action.publicKey")
            ?? (k.Reason is { Length: > MaxNameLength * 4 } ? $"body.action.reason: longer than {MaxNameLength * 4} characters" : null),
        AnnounceSn a => Identity(a.Identity, "body.action.identity")
            ?? (!IPEndPoint.TryParse(a.RaftEndPoint ?? "", out _) ? "body.action.raftEndPoint: not an IP address and port" : null)
            ?? ContractTxShape.HttpsUrlProblem(a.ApiUrl, "body.action.apiUrl") ?? (a.FileUrl is null ? null : ContractTxShape.HttpsUrlProblem(a.FileUrl, "body.action.fileUrl")),
        ContractAction c => ContractTxShape.Problem(c.Tx, "body.action.tx"),
        _ => "body.action: unknown kind",
    };

    private static string? Identity(string? value, string field) =>
        SpiffeId.TryParse(value, out _, out string? error) ? null : $"{field}: {error}";

    private static string? Key(string? value, string field) => KeyProblem(value) is { } problem ? $"{field}: {problem}" : null;

    private static bool IsSignature(string? value)
    {
        if (value is null || value.Length > 200)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[150];
        return Convert.TryFromBase64String(value, bytes, out int written) && written == 64;
    }
}
