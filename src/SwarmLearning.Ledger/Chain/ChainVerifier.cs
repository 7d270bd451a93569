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
    /// Merkle root, and the last header carries its proposer's signature (a key from the file's own registrations),
    /// so any changed byte is found, in time linear in the archive but without re-executing anything.
    /// Returns the number of blocks; throws <see cref="ChainViolationException"/> naming the first bad one.
    /// </summary>
    public static long CheckLinks(string path)
    {
        var tail = CheckFile(path);
        return tail.First is { } first ? tail.Last - first + 1 : 0;
    }

    internal static Tail CheckFile(string path)
    {
        var tail = new Tail(null, -1, new string('0', 64));
        if (!File.Exists(path))
        {
            return tail;
        }
        var keys = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        Block? last = null;
        foreach (var block in BlockFile.Read(path))
        {
            if (last is not null && (block.Header.PreviousHash != last.Hash || block.Header.Height != last.Header.Height + 1))
            {
                throw new ChainViolationException(block.Header.Height, $"does not link to the block before it in {path}: that block or this one was changed");
            }
            if (Block.TxRootOf(block.Transactions) != block.Header.TxRoot)
            {
                throw new ChainViolationException(block.Header.Height, $"its transactions do not match its Merkle root in {path}: a transaction was changed");
            }
            foreach (var transaction in block.Transactions)
            {
                var (identity, key) = transaction.Body?.Action switch
                {
                    RegisterKey r => (r.Identity, r.PublicKey),
                    RotateKey r => (r.Identity, r.PublicKey),
                    _ => (null, null),
                };
                if (identity is not null && key is not null)
                {
                    (keys.TryGetValue(identity, out var known) ? known : keys[identity] = []).Add(key);
                }
            }
            tail = tail.After(block);
            last = block;
        }
        // Nothing links to the last header: its proposer's signature is what covers it. A proposer whose key is not in
        // this file (a pending part after a gap) is checked when the gap is filled and the chain re-verified.
        if (last is not null && keys.TryGetValue(last.Header.Proposer, out var candidates) && !candidates.Any(k => ChainRules.VerifyHeader(last.Header, last.ProposerSignature, k)))
        {
            throw new ChainViolationException(last.Header.Height, $"the last block's header in {path} does not carry its proposer's signature: it was changed");
        }
        return tail;
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
