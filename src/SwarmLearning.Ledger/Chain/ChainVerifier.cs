namespace SwarmLearning.Ledger.Chain;

/// <summary>What `swarm ledger verify` found.</summary>
public sealed record VerifyReport(long Blocks, long Transactions, string? HeadHash, string? StateRoot, int Contracts, ChainViolationException? FirstFault)
{
    /// <summary>Whether the whole chain verified.</summary>
    public bool Ok => FirstFault is null;
}

/// <summary>
/// Checks a block archive offline from genesis: links, Merkle roots, proposer signatures, re-execution of every
/// transaction and the state roots. Needs nothing but the file: keys and rules are on the chain.
/// </summary>
public static class ChainVerifier
{
    /// <summary>
    /// The start-up check of an SN's own archive: every block links to the previous header's hash and matches its
    /// Merkle root, so any changed byte is found, in time linear in the archive but without re-executing anything.
    /// Returns the number of blocks; throws <see cref="ChainViolationException"/> naming the first bad one.
    /// </summary>
    public static long CheckLinks(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }
        string? previous = null;
        long count = 0;
        foreach (var block in BlockFile.Read(path))
        {
            if (previous is not null && block.Header.PreviousHash != previous)
            {
                throw new ChainViolationException(block.Header.Height, $"does not link to the block before it in {path}: that block or this one was changed");
            }
            if (Block.TxRootOf(block.Transactions) != block.Header.TxRoot)
            {
                throw new ChainViolationException(block.Header.Height, $"its transactions do not match its Merkle root in {path}: a transaction was changed");
            }
            previous = block.Hash;
            count++;
        }
        return count;
    }

    /// <summary>Verifies the archive at <paramref name="path"/>; stops at the first fault and names it.</summary>
    /// <param name="path">blocks.jsonl.</param>
    /// <param name="progress">Called every 1,000 blocks with the count so far.</param>
    public static VerifyReport Verify(string path, Action<long>? progress = null)
    {
        if (!File.Exists(path))
        {
            throw new Core.SwarmException($"no block archive at {path}: give an SN's data folder or its chain/blocks.jsonl");
        }
        LedgerState? state = null;
        long blocks = 0, transactions = 0;
        try
        {
            foreach (var block in BlockFile.Read(path))
            {
                state ??= LedgerState.Before(block.Header.ChainId);
                (state, _) = ChainRules.Apply(state, block);
                blocks++;
                transactions += block.Transactions.Count;
                if (blocks % 1000 == 0)
                {
                    progress?.Invoke(blocks);
                }
            }
        }
        catch (ChainViolationException e)
        {
            return new VerifyReport(blocks, transactions, state?.HeadHash, state?.StateRoot(), state?.Registry.Contracts.Count ?? 0, e);
        }
        return new VerifyReport(blocks, transactions, state?.HeadHash, state?.StateRoot(), state?.Registry.Contracts.Count ?? 0, null);
    }
}
