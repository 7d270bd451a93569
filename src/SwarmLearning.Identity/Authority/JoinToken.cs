using System.Security.Cryptography;
using System.Text;

namespace SwarmLearning.Identity.Authority;

/// <summary>
/// A one-time join token as handed to an operator: <c>sjt.SECRET.CA-FINGERPRINT</c>. The secret attests the node once;
/// the fingerprint (SHA-256 of the CA certificate) lets the node check the server's trust bundle at first contact,
/// before it has anything else to trust (the idea of kubeadm's discovery hash). The server stores only a hash of the
/// secret.
/// </summary>
public sealed record JoinToken(string Secret, string? CaFingerprint)
{
    private const string Prefix = "sjt.";

    /// <summary>Creates a fresh token for the CA with <paramref name="caFingerprint"/>.</summary>
    public static JoinToken Create(string caFingerprint) =>
        new(Base64Url(RandomNumberGenerator.GetBytes(32)), caFingerprint);

    /// <summary>Reads a token as printed by <see cref="ToString"/>, or a bare secret.</summary>
    public static JoinToken Parse(string text)
    {
        text = text.Trim();
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return new JoinToken(text, null);
        }
        string[] parts = text.Split('.');
        if (parts.Length != 3 || parts[1].Length == 0 || parts[2].Length != 64)
        {
            throw new Core.SwarmException("the join token is malformed: copy the whole 'sjt.…' line that `swarm identity token create` printed");
        }
        return new JoinToken(parts[1], parts[2]);
    }

    /// <summary>What the server stores: SHA-256 of the secret, so a copy of its state cannot attest anyone.</summary>
    public string SecretHash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Secret)));

    /// <inheritdoc />
    public override string ToString() => CaFingerprint is null ? Secret : $"{Prefix}{Secret}.{CaFingerprint}";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
