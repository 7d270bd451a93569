using System.Security.Cryptography;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// The Merkle root of a block's transactions, RFC 6962 style: leaves hashed with a 0x00 prefix and inner nodes with
/// 0x01, so a leaf can never pass for an inner node; an odd node is promoted unpaired. Empty: SHA-256 of nothing.
/// </summary>
public static class Merkle
{
    /// <summary>The root over <paramref name="leaves"/> (each an item's bytes, e.g. a transaction hash), as hex.</summary>
    public static string Root(IReadOnlyList<byte[]> leaves)
    {
        if (leaves.Count == 0)
        {
            return Convert.ToHexStringLower(SHA256.HashData([]));
        }
        var level = leaves.Select(leaf => SHA256.HashData([0x00, .. leaf])).ToList();
        while (level.Count > 1)
        {
            var next = new List<byte[]>((level.Count + 1) / 2);
            for (int i = 0; i < level.Count; i += 2)
            {
                next.Add(i + 1 < level.Count ? SHA256.HashData([0x01, .. level[i], .. level[i + 1]]) : level[i]);
            }
            level = next;
        }
        return Convert.ToHexStringLower(level[0]);
    }
}
