using System.Security.Cryptography;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// How a block extends the chain: built by the proposing SN, re-executed and checked by every SN and by the offline
/// verifier with the same code. Any fault (a broken link, a wrong Merkle or state root, a bad proposer signature) is
/// a <see cref="ChainViolationException"/>: an SN stops loudly rather than follow a chain it cannot reproduce.
/// </summary>
public static class ChainRules
{
    /// <summary>The genesis block: the sentinel registers its own ledger key and, given <paramref name="where"/>, announces where it serves.</summary>
    public static (Block Block, LedgerState State) Genesis(string chainId, SpiffeId sentinel, ECDsa sentinelKey, DateTimeOffset time, AnnounceSn? where = null)
    {
        var register = SignedTransaction.Sign(new TxBody(chainId, sentinel.ToString(), 1, new RegisterKey(sentinel.ToString(), PublicKeyOf(sentinelKey))), sentinelKey);
        List<SignedTransaction> transactions = [register];
        if (where is not null)
        {
            transactions.Add(SignedTransaction.Sign(new TxBody(chainId, sentinel.ToString(), 2, where), sentinelKey));
        }
        return Propose(LedgerState.Before(chainId), transactions, time, sentinel, sentinelKey);
    }

    /// <summary>Builds, executes and signs the next block over <paramref name="state"/>.</summary>
    public static (Block Block, LedgerState State) Propose(LedgerState state, IReadOnlyList<SignedTransaction> transactions, DateTimeOffset time, SpiffeId proposer, ECDsa key)
    {
        if (time < state.Time)
        {
            time = state.Time; // block time never goes back, whatever the proposer's clock says
        }
        var (next, _) = state.Execute(state.Height + 1, transactions, time);
        var header = new BlockHeader(state.ChainId, state.Height + 1, state.HeadHash, Block.TxRootOf(transactions), next.StateRoot(), time, proposer.ToString());
        var block = new Block(header, transactions, Convert.ToBase64String(key.SignData(Block.HeaderBytes(header), HashAlgorithmName.SHA256)));
        return (block, next.WithHead(block.Hash));
    }

    /// <summary>Checks <paramref name="block"/> as the successor of <paramref name="state"/> and returns the state after it.</summary>
    public static (LedgerState State, IReadOnlyList<TxResult> Results) Apply(LedgerState state, Block block)
    {
        var header = block.Header;
        long height = state.Height + 1;
        ChainViolationException Fault(string reason) => new(header.Height, reason);
        if (header.ChainId != state.ChainId)
        {
            throw Fault($"block is for chain '{header.ChainId}', not '{state.ChainId}'");
        }
        if (header.Height != height)
        {
            throw Fault($"expected height {height}, found {header.Height}");
        }
        if (header.PreviousHash != state.HeadHash)
        {
            throw Fault($"previous hash {Short(header.PreviousHash)} does not match block {state.Height}'s hash {Short(state.HeadHash)}: the chain is broken here");
        }
        if (header.Time < state.Time)
        {
            throw Fault($"block time {header.Time:O} is before the previous block's {state.Time:O}");
        }
        if (Block.TxRootOf(block.Transactions) != header.TxRoot)
        {
            throw Fault("the transactions do not match the header's Merkle root: a transaction was changed, added or removed");
        }
        var (next, results) = state.Execute(height, block.Transactions, header.Time);
        // The proposer's key comes from the chain (for genesis, from the genesis block itself).
        string? proposerKey = (height == 0 ? next : state).Keys.GetValueOrDefault(header.Proposer);
        if (!SpiffeId.TryParse(header.Proposer, out var proposer, out _) || !proposer.IsUnder(SwarmIdentities.SwarmNetwork) || proposerKey is null)
        {
            throw Fault($"proposer '{header.Proposer}' is not an SN with a ledger key on the chain");
        }
        if (!VerifyHeader(header, block.ProposerSignature, proposerKey))
        {
            throw Fault($"the proposer's signature ({header.Proposer}) does not verify: the header was altered or not signed by that SN");
        }
        string root = next.StateRoot();
        if (root != header.StateRoot)
        {
            throw Fault($"state root mismatch: re-executing gives {Short(root)}, the block says {Short(header.StateRoot)}; this SN and the proposer disagree on the contract's result");
        }
        return (next.WithHead(block.Hash), results);
    }

    /// <summary>A key's SubjectPublicKeyInfo, base64: how keys are written on the chain.</summary>
    public static string PublicKeyOf(ECDsa key) => Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    internal static bool VerifyHeader(BlockHeader header, string signature, string publicKey)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKey), out _);
            return key.VerifyData(Block.HeaderBytes(header), Convert.FromBase64String(signature), HashAlgorithmName.SHA256);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return false;
        }
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}

/// <summary>Signals a block that does not extend the chain correctly; names the block and the fault.</summary>
public sealed class ChainViolationException(long height, string reason) : Core.SwarmException($"block {height}: {reason}")
{
    /// <summary>The height of the faulty block.</summary>
    public long Height { get; } = height;
}
