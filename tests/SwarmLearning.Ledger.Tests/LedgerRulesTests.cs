using System.Security.Cryptography;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Ledger.Tests;

/// <summary>
/// The chain's rules against an attacker with a ledger key (docs/security.md, issue 13): malformed transactions are
/// refused and never stop a proposer, keys are not overwritten, nested SL identities act for no node, sizes are bounded.
/// </summary>
public sealed class LedgerRulesTests : IDisposable
{
    private const string Node1 = "spiffe://swarm.local/sl/node1";
    private const string Nested = "spiffe://swarm.local/sl/siteb/node1";
    private const string Operator = "spiffe://swarm.local/swci/ops";
    private readonly TestChain _chain = new();

    [Fact]
    public void A_transaction_without_an_action_is_refused_as_malformed_and_the_block_is_still_built()
    {
        _chain.Propose(_chain.AddSender(Node1));
        var signed = _chain.Sign(Node1, TestChain.Register("node1"));
        var broken = signed with { Body = signed.Body with { Action = null! } };
        var results = _chain.Propose(broken, _chain.Sign(Node1, TestChain.Register("node1")));
        Assert.Equal("malformed", results[0].Code);
        Assert.Contains("body.action", results[0].Reason, StringComparison.Ordinal);
        Assert.True(results[1].Accepted, results[1].Reason);

        var noTx = signed with { Body = signed.Body with { Nonce = 99, Action = new ContractAction(null!) } };
        Assert.Equal("malformed", _chain.Propose(noTx)[0].Code);
        var noBody = signed with { Body = null! };
        Assert.Equal("malformed", _chain.Propose(noBody)[0].Code);
    }

    [Fact]
    public void A_registered_key_is_not_overwritten_but_the_same_key_again_is_harmless()
    {
        var first = _chain.AddSender(Node1)!;
        Assert.True(_chain.Propose(first)[0].Accepted);
        Assert.True(_chain.Propose(_chain.Sign(TestChain.Sentinel.ToString(), ((RegisterKey)first.Body.Action) with { }))[0].Accepted);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rekey = _chain.Propose(_chain.Sign(TestChain.Sentinel.ToString(), new RegisterKey(Node1, ChainRules.PublicKeyOf(other))))[0];
        Assert.Equal("key-exists", rekey.Code);
        Assert.Equal(((RegisterKey)first.Body.Action).PublicKey, _chain.State.Keys[Node1]);
    }

    [Fact]
    public void A_key_rotates_only_by_its_owner_or_an_operator_with_a_reason_and_an_sns_never()
    {
        _chain.Propose(_chain.AddSender(Node1), _chain.AddSender("spiffe://swarm.local/sl/node2"), _chain.AddSender(Operator));
        using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string key = ChainRules.PublicKeyOf(fresh);
        Assert.Equal("not-allowed", _chain.Propose(_chain.Sign("spiffe://swarm.local/sl/node2", new RotateKey(Node1, key)))[0].Code);
        Assert.Equal("not-allowed", _chain.Propose(_chain.Sign(Operator, new RotateKey(Node1, key)))[0].Code);
        Assert.Equal("not-allowed", _chain.Propose(_chain.Sign(Operator, new RotateKey(TestChain.Sentinel.ToString(), key, "lost")))[0].Code);
        Assert.True(_chain.Propose(_chain.Sign(Operator, new RotateKey(Node1, key, "disk of node1 replaced")))[0].Accepted);
        Assert.Equal(key, _chain.State.Keys[Node1]);
        using var next = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(_chain.Propose(_chain.Sign("spiffe://swarm.local/sl/node2", new RotateKey("spiffe://swarm.local/sl/node2", ChainRules.PublicKeyOf(next))))[0].Accepted);
    }

    [Fact]
    public void A_nested_sl_identity_acts_for_no_contract_node()
    {
        _chain.Propose(_chain.AddSender(Node1), _chain.AddSender(Nested));
        Assert.True(_chain.Propose(_chain.Sign(Node1, TestChain.Register("node1")))[0].Accepted);
        var impostor = _chain.Propose(_chain.Sign(Nested, new ContractAction(new LeaveContract("mnist", "node1"))))[0];
        Assert.Equal("not-allowed", impostor.Code);
        Assert.Equal("not-allowed", _chain.Propose(_chain.Sign(Nested, new ContractAction(new LeaveContract("mnist", "siteb/node1"))))[0].Code);
    }

    [Fact]
    public void An_oversized_transaction_is_refused()
    {
        _chain.Propose(_chain.AddSender(Node1));
        var huge = new ContractAction(new PublishMerge("mnist", "node1", 0, Core.Files.ContentHash.None, [.. Enumerable.Repeat(new string('x', 100), 12_000)]));
        var result = _chain.Propose(_chain.Sign(Node1, huge))[0];
        Assert.False(result.Accepted);
        Assert.Contains(result.Code, new[] { "too-large", "malformed" });
    }

    [Fact]
    public void The_start_up_check_finds_a_flipped_byte_in_the_last_blocks_header()
    {
        _chain.Propose(_chain.AddSender(Node1));
        _chain.Propose(_chain.Sign(Node1, TestChain.Register("node1")));
        string file = Path.Combine(Path.GetTempPath(), $"swarm-last-{Guid.NewGuid():N}.jsonl");
        try
        {
            using (var archive = new BlockFile(file))
            {
                _chain.Blocks.ForEach(archive.Append);
            }
            Assert.Equal(3, ChainVerifier.CheckLinks(file));
            var lines = File.ReadAllLines(file);
            var last = Block.FromJson(lines[^1]);
            lines[^1] = (last with { Header = last.Header with { Time = last.Header.Time.AddSeconds(1) } }).ToJson();
            File.WriteAllLines(file, lines);
            var fault = Assert.Throws<ChainViolationException>(() => ChainVerifier.CheckLinks(file));
            Assert.Contains("proposer's signature", fault.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    public void A_malformed_public_key_is_named(string key) => Assert.NotNull(TransactionCheck.KeyProblem(key));

    [Theory]
    [InlineData("node5", true)]
    [InlineData("node5@r12", true)]
    [InlineData("site-b/node.5@r0", true)]
    [InlineData("node5@r", false)]
    [InlineData("node5@12", false)]
    [InlineData("node5@r1x", false)]
    [InlineData("@r3", false)]
    [InlineData("node 5", false)]
    public void An_exclusion_names_a_contribution_key(string key, bool valid)
    {
        Assert.Equal(valid, Protocol.Contract.ContractTxShape.ContributionKeyProblem(key) is null);
        Assert.Null(Protocol.Contract.ContractTxShape.ContributionKeyProblem(Protocol.Contract.MergeContribution.KeyFor("node5", 12))); // the protocol's own late key
    }

    [Fact]
    public void A_merge_that_leaves_out_a_late_model_passes_the_shape_check()
    {
        var publish = new ContractAction(new PublishMerge("mnist", "node1", 13, Core.Files.ContentHash.None,
            [Protocol.Contract.MergeContribution.KeyFor("node5", 12)]));
        _chain.Propose(_chain.AddSender(Node1));
        var result = _chain.Propose(_chain.Sign(Node1, publish))[0];
        Assert.NotEqual("malformed", result.Code);
    }

    public void Dispose() => _chain.Dispose();
}
