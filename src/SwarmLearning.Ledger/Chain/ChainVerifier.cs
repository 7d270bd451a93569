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
