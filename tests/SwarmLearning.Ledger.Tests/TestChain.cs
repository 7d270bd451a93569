using System.Security.Cryptography;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Ledger.Tests;

/// <summary>A chain built in memory by one proposing SN, with SL nodes whose keys the SN registered.</summary>
internal sealed class TestChain : IDisposable
{
    public const string ChainId = "swarm.local/test";
    private readonly Dictionary<string, (ECDsa Key, long Nonce)> _senders = [];
    private DateTimeOffset _time = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    public TestChain()
    {
        var sentinelKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _senders[Sentinel.ToString()] = (sentinelKey, 1);
        (var genesis, State) = ChainRules.Genesis(ChainId, Sentinel, sentinelKey, _time);
        Blocks.Add(genesis);
    }

    public static SpiffeId Sentinel { get; } = SpiffeId.Parse("spiffe://swarm.local/sn/sentinel");

    public static ModelSignature Model { get; } = new([new TensorSpec("w", DType.F32, [4])]);

    public LedgerState State { get; private set; }

    public ECDsa SentinelKey => _senders[Sentinel.ToString()].Key;

    public List<Block> Blocks { get; } = [];

    /// <summary>Adds a sender with a fresh key; its key is registered by the sentinel in the next block unless <paramref name="register"/> is false.</summary>
    public SignedTransaction? AddSender(string spiffeId, bool register = true)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _senders[spiffeId] = (key, 0);
        return register ? Sign(Sentinel.ToString(), new RegisterKey(spiffeId, ChainRules.PublicKeyOf(key))) : null;
    }

    /// <summary>Signs <paramref name="action"/> as <paramref name="sender"/> with its next nonce.</summary>
    public SignedTransaction Sign(string sender, LedgerAction action)
    {
        var (key, nonce) = _senders[sender];
        _senders[sender] = (key, nonce + 1);
        return SignedTransaction.Sign(new TxBody(ChainId, sender, nonce + 1, action), key);
    }

    public static ContractAction Register(string node) => new(new RegisterNode("mnist", node, Model, new TrainingParameters(2, 10)));

    public static ContractAction CheckIn(string node, long round, byte seed) =>
        new(new CheckIn("mnist", node, round, ContentHash.None, ContentHash.Of([seed]), 100));

    /// <summary>Proposes the next block (one second later) and returns its results.</summary>
    public IReadOnlyList<TxResult> Propose(params SignedTransaction?[] transactions)
    {
        _time += TimeSpan.FromSeconds(1);
        var list = transactions.OfType<SignedTransaction>().ToList();
        var before = State;
        (var block, State) = ChainRules.Propose(State, list, _time, Sentinel, _senders[Sentinel.ToString()].Key);
        Blocks.Add(block);
        return ChainRules.Apply(before, block).Results;
    }

    public void Dispose()
    {
        foreach (var (key, _) in _senders.Values)
        {
            key.Dispose();
        }
    }
}
