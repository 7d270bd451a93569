using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// A block's header: what its hash covers. <see cref="StateRoot"/> is the world state after applying the block, so
/// every SN that re-executes it can compare; <see cref="Time"/> is the only clock the contract sees.
/// </summary>
public sealed record BlockHeader(string ChainId, long Height, string PreviousHash, string TxRoot, string StateRoot, DateTimeOffset Time, string Proposer);

/// <summary>A block: header, transactions, and the proposing SN's signature over the header (ECDSA P-256, base64).</summary>
public sealed record Block(BlockHeader Header, IReadOnlyList<SignedTransaction> Transactions, string ProposerSignature)
{
    /// <summary>The block's hash (hex): SHA-256 of the header's canonical JSON. The next block links to it.</summary>
    [JsonIgnore]
    public string Hash => HashOf(Header);

    /// <summary>The hash of a header.</summary>
    public static string HashOf(BlockHeader header) => Convert.ToHexStringLower(SHA256.HashData(HeaderBytes(header)));

    /// <summary>The bytes the proposer signs.</summary>
    public static byte[] HeaderBytes(BlockHeader header) => JsonSerializer.SerializeToUtf8Bytes(header, LedgerJson.Options);

    /// <summary>The Merkle root of <paramref name="transactions"/>.</summary>
    public static string TxRootOf(IReadOnlyList<SignedTransaction> transactions) => Merkle.Root([.. transactions.Select(t => t.Hash)]);

    /// <summary>One line of JSON, as stored.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, LedgerJson.Options);

    /// <summary>Reads a stored block.</summary>
    public static Block FromJson(string json) => JsonSerializer.Deserialize<Block>(json, LedgerJson.Options)
        ?? throw new JsonException("empty block");
}
