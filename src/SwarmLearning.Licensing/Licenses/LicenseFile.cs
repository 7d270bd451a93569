using System.Security.Cryptography;
using System.Text.Json;

namespace SwarmLearning.Licensing.Licenses;

/// <summary>
/// A licence file: the terms as exact JSON bytes (base64) and the issuer's ECDSA P-256 signature over those bytes, with
/// the issuer's key id. Verifying needs only the issuer's public key; changing one byte of the terms breaks it.
/// </summary>
public sealed record LicenseFile(string KeyId, string Terms, string Signature)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Signs <paramref name="terms"/> with the issuer's key.</summary>
    public static LicenseFile Issue(LicenseTerms terms, ECDsa issuerKey)
    {
        if (terms.Problem() is { } problem)
        {
            throw new LicenseException(problem);
        }
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(terms, Json);
        return new LicenseFile(IssuerKeys.KeyId(issuerKey), Convert.ToBase64String(bytes), Convert.ToBase64String(issuerKey.SignData(bytes, HashAlgorithmName.SHA256)));
    }

    /// <summary>Reads a licence file; <paramref name="source"/> names it in errors.</summary>
    public static LicenseFile Parse(string text, string source)
    {
        try
        {
            var file = JsonSerializer.Deserialize<LicenseFile>(text, Json);
            return file is { KeyId: not null, Terms: not null, Signature: not null } ? file
                : throw new LicenseException($"{source} is not a licence file: keyId, terms and signature are required");
        }
        catch (JsonException e)
        {
            throw new LicenseException($"{source} is not a licence file ({e.Message})");
        }
    }

    /// <summary>Checks the signature against the trusted issuers and returns the terms; throws saying what is wrong.</summary>
    public LicenseTerms Verify(IssuerKeys trusted, string source)
    {
        var key = trusted.Find(KeyId) ?? throw new LicenseException(
            $"{source} was issued by key {KeyId}, which this licence server does not trust; add the issuer's public key (--trusted-issuer)");
        byte[] bytes, signature;
        try
        {
            bytes = Convert.FromBase64String(Terms);
            signature = Convert.FromBase64String(Signature);
        }
        catch (FormatException)
        {
            throw new LicenseException($"{source}: the terms or the signature are not base64: the file was altered");
        }
        if (!key.VerifyData(bytes, signature, HashAlgorithmName.SHA256))
        {
            throw new LicenseException($"{source}: the signature does not verify: the file was altered or not signed by issuer {KeyId}; ask the issuer for the original file");
        }
        var terms = JsonSerializer.Deserialize<LicenseTerms>(bytes, Json) ?? throw new LicenseException($"{source}: the signed terms are empty");
        return terms.Problem() is { } problem ? throw new LicenseException($"{source}: {problem}") : terms;
    }

    /// <summary>The file's text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
