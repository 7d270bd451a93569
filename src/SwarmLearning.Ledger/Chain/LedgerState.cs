using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Ledger.Chain;

/// <summary>The outcome of one transaction in a block: accepted with the contract's events, or refused and not applied.</summary>
public sealed record TxResult(string TxId, bool Accepted, string? Code, string? Reason, IReadOnlyList<ContractEvent> Events, long Version = 0);

/// <summary>
/// The world state every SN derives from the chain: the training contracts, the ledger keys and each sender's last
/// nonce. Pure and deterministic: no wall clock (block time only), no randomness, ordered maps only.
/// </summary>
public sealed record LedgerState(
    string ChainId,
    long Height,
    string HeadHash,
    DateTimeOffset Time,
    ContractRegistry Registry,
    ImmutableSortedDictionary<string, string> Keys,
    ImmutableSortedDictionary<string, long> Nonces,
    ImmutableSortedDictionary<string, AnnounceSn>? Sns = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    ImmutableSortedDictionary<long, string>? RecentHashes = null)
{
    /// <summary>How many of the latest blocks' hashes the state keeps for the contract (auditors are drawn from one).</summary>
    public const int RecentBlocks = 256;

    /// <summary>The state after the block <paramref name="hash"/> at this state's height: its head, and the recent hashes with it.</summary>
    public LedgerState WithHead(string hash)
    {
        var recent = (RecentHashes ?? ImmutableSortedDictionary<long, string>.Empty).SetItem(Height, hash);
        return this with { HeadHash = hash, RecentHashes = recent.Count > RecentBlocks ? recent.Remove(recent.Keys.First()) : recent };
    }

    /// <summary>Where each SN serves, by SPIFFE ID.</summary>
    public ImmutableSortedDictionary<string, AnnounceSn> SnDirectory => Sns ?? ImmutableSortedDictionary.Create<string, AnnounceSn>(StringComparer.Ordinal);

    /// <summary>The state before the genesis block.</summary>
    public static LedgerState Before(string chainId) => new(chainId, -1, new string('0', 64), DateTimeOffset.MinValue, ContractRegistry.Empty,
        ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal), ImmutableSortedDictionary.Create<string, long>(StringComparer.Ordinal));

    /// <summary>SHA-256 (hex) of the canonical JSON of what the chain decides: contracts, keys, nonces, height.</summary>
    public string StateRoot() => Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(
        new { ChainId, Height, Keys, Nonces, Sns = SnDirectory, Contracts = Registry.Contracts }, LedgerJson.Options)));

    /// <summary>Applies <paramref name="transactions"/> in order at block time <paramref name="time"/> as block <paramref name="height"/>.</summary>
    public (LedgerState State, IReadOnlyList<TxResult> Results) Execute(long height, IReadOnlyList<SignedTransaction> transactions, DateTimeOffset time)
    {
        var state = this with { Height = height, Time = time };
        var results = new List<TxResult>(transactions.Count);
        foreach (var transaction in transactions)
        {
            var (next, result) = state.ApplyOne(transaction, genesis: height == 0);
            state = next;
            results.Add(result);
        }
        return (state, results);
    }

    private (LedgerState, TxResult) ApplyOne(SignedTransaction transaction, bool genesis)
    {
        // One encoding serves both the id (the Merkle leaf, as SignedTransaction.Hash) and the size bound.
        byte[] encoded = JsonSerializer.SerializeToUtf8Bytes(transaction, LedgerJson.Options);
        string id = Convert.ToHexStringLower(SHA256.HashData(encoded));
        var body = transaction.Body;
        TxResult Refuse(string code, string reason) => new(id, false, code, reason, []);

        if (TransactionCheck.Problem(transaction) is { } malformed)
        {
            return (this, Refuse("malformed", malformed));
        }
        if (encoded.Length > TransactionCheck.MaxBytes)
        {
            return (this, Refuse("too-large", $"the transaction is larger than {TransactionCheck.MaxBytes} bytes"));
        }
        if (body.ChainId != ChainId)
        {
            return (this, Refuse("wrong-chain", $"transaction is for chain '{body.ChainId}', this is '{ChainId}'"));
        }
        // In the genesis block the sentinel registers its own key, signed by that key; afterwards keys come from the chain.
        string? key = genesis && body.Action is RegisterKey self && self.Identity == body.Sender ? self.PublicKey : Keys.GetValueOrDefault(body.Sender);
        if (key is null)
        {
            return (this, Refuse("unknown-sender", $"{body.Sender} has no ledger key on the chain; an SN registers it when the node first connects"));
        }
        if (!transaction.IsSignedBy(key))
        {
            return (this, Refuse("bad-signature", $"the signature does not match {body.Sender}'s ledger key"));
        }
        if (body.Nonce <= Nonces.GetValueOrDefault(body.Sender))
        {
            return (this, Refuse("replayed", $"nonce {body.Nonce} of {body.Sender} is not above its last ({Nonces.GetValueOrDefault(body.Sender)}): a replay or a duplicate"));
        }
        if (!SpiffeId.TryParse(body.Sender, out var sender, out string? error))
        {
            return (this, Refuse("bad-sender", error));
        }
        if (Authorization.Check(sender, body.Action, genesis) is { } denied)
        {
            return (this, Refuse("not-allowed", denied));
        }
        var state = this with { Nonces = Nonces.SetItem(body.Sender, body.Nonce) };
        switch (body.Action)
        {
            case AnnounceSn announce:
                return (state with { Sns = SnDirectory.SetItem(announce.Identity, announce) }, new TxResult(id, true, null, null, []));
            case RegisterKey register when Keys.GetValueOrDefault(register.Identity) is { } known && known != register.PublicKey:
                return (this, Refuse("key-exists", $"{register.Identity} already has a different ledger key on the chain; a key changes only by a rotation signed with the old key, or by an operator with a reason"));
            case RegisterKey register:
                return (state with { Keys = Keys.SetItem(register.Identity, register.PublicKey) }, new TxResult(id, true, null, null, []));
            case RotateKey rotate when !Keys.ContainsKey(rotate.Identity):
                return (this, Refuse("unknown-identity", $"{rotate.Identity} has no ledger key to rotate; it registers one through an SN"));
            case RotateKey rotate:
                return (state with { Keys = Keys.SetItem(rotate.Identity, rotate.PublicKey) }, new TxResult(id, true, null, null, []));
            case ContractAction contract:
                var (registry, outcome) = Registry.Apply(contract.Tx, new TxContext(Authorization.ContractSender(sender), Authorization.IsOperator(sender), Time, Height, HeadHash,
                    h => RecentHashes?.GetValueOrDefault(h)));
                // A refusal by the contract still spends the nonce: the transaction is on the chain.
                return (state with { Registry = registry }, new TxResult(id, outcome.Accepted, outcome.Code, outcome.Reason, outcome.Events, outcome.Version));
            default:
                return (this, Refuse("unknown-action", $"unknown action {body.Action.GetType().Name}"));
        }
    }
}
