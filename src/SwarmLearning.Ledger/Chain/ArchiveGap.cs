namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// Blocks <see cref="From"/> to <see cref="To"/> missing from an SN's archive (it joined, or caught up, from a
/// snapshot): the block at <see cref="From"/> must link to <see cref="FromPreviousHash"/> (the last archived block's
/// hash, zeros before genesis) and the block at <see cref="To"/> must hash to <see cref="ToHash"/> (what the first
/// pending block links to).
/// </summary>
public sealed record ArchiveGap(long From, long To, string ToHash, string FromPreviousHash)
{
    /// <summary>
    /// Checks blocks fetched from another SN back from the known hash: each must hash to the next one's previous
    /// hash and match its Merkle root, so a peer cannot slip in a different history.
    /// </summary>
    public static void Check(ArchiveGap gap, IReadOnlyList<Block> blocks)
    {
        if (blocks.Count != gap.To - gap.From + 1 || blocks[0].Header.Height != gap.From)
        {
            throw new ChainViolationException(gap.From, $"expected blocks {gap.From} to {gap.To}, got {blocks.Count} starting at {(blocks.Count > 0 ? blocks[0].Header.Height : -1)}");
        }
        string expected = gap.ToHash;
        for (int i = blocks.Count - 1; i >= 0; i--)
        {
            var block = blocks[i];
            if (block.Hash != expected)
            {
                throw new ChainViolationException(block.Header.Height, "the fetched block does not hash to what the next block links to: the peer offered another history");
            }
            if (Block.TxRootOf(block.Transactions) != block.Header.TxRoot)
            {
                throw new ChainViolationException(block.Header.Height, "the fetched block's transactions do not match its Merkle root");
            }
            expected = block.Header.PreviousHash;
        }
        if (expected != gap.FromPreviousHash)
        {
            throw new ChainViolationException(gap.From, "the fetched blocks do not link to the last block of this SN's archive: the peer offered another history");
        }
    }
}
