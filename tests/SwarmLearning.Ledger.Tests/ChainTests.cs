using SwarmLearning.Core.Files;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Testing;

namespace SwarmLearning.Ledger.Tests;

public sealed class ChainTests : IDisposable
{
    private readonly TestChain _chain = new();
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"swarm-chain-{Guid.NewGuid():N}.jsonl");

    private const string Node1 = "spiffe://swarm.local/sl/node1";
    private const string Node2 = "spiffe://swarm.local/sl/node2";

    private void TwoNodesTrainOneRound()
    {
        Assert.All(_chain.Propose(_chain.AddSender(Node1), _chain.AddSender(Node2)), r => Assert.True(r.Accepted, r.Reason));
        Assert.All(_chain.Propose(_chain.Sign(Node1, TestChain.Register("node1")), _chain.Sign(Node2, TestChain.Register("node2"))), r => Assert.True(r.Accepted, r.Reason));
        var results = _chain.Propose(_chain.Sign(Node1, TestChain.CheckIn("node1", 0, 1)), _chain.Sign(Node2, TestChain.CheckIn("node2", 0, 2)));
        Assert.All(results, r => Assert.True(r.Accepted, r.Reason));
    }

    [Fact]
    public void A_follower_replaying_the_blocks_reaches_the_proposers_state()
    {
        TwoNodesTrainOneRound();
        var follower = LedgerState.Before(TestChain.ChainId);
        foreach (var block in _chain.Blocks)
        {
            (follower, _) = ChainRules.Apply(follower, block);
        }
        Assert.Equal(_chain.State.StateRoot(), follower.StateRoot());
        Assert.Equal(_chain.State.HeadHash, follower.HeadHash);
        Assert.NotNull(follower.Registry.Contracts["mnist"].MergedOf(0)); // round 0: the contract chose an initial model
    }

    [Fact]
    public void A_merge_is_audited_by_a_node_drawn_from_the_hash_of_the_block_that_holds_the_publication()
    {
        TwoNodesTrainOneRound();
        var start = _chain.State.Registry.Contracts["mnist"].MergedOf(0)!.Hash;
        ContractAction CheckIn(string node, byte seed) => new(new CheckIn("mnist", node, 1, start, ContentHash.Of([seed]), 100));
        _chain.Propose(_chain.Sign(Node1, CheckIn("node1", 11)), _chain.Sign(Node2, CheckIn("node2", 12)));
        string leader = _chain.State.Registry.Contracts["mnist"].Round.CurrentLeader!;
        string leaderId = leader == "node1" ? Node1 : Node2, otherId = leader == "node1" ? Node2 : Node1, other = leader == "node1" ? "node2" : "node1";
        var merged = ContentHash.Of([13]);
        Assert.All(_chain.Propose(_chain.Sign(leaderId, new ContractAction(new PublishMerge("mnist", leader, 1, merged, [])))), r => Assert.True(r.Accepted, r.Reason));
        string publicationBlock = _chain.State.HeadHash;
        Assert.False(_chain.State.Registry.Contracts["mnist"].Audit!.Drawn);

        _chain.Propose(_chain.Sign(leaderId, new ContractAction(new Tick("mnist"))));
        var audit = _chain.State.Registry.Contracts["mnist"].Audit!;
        Assert.True(audit.Drawn);
        Assert.Equal([other], audit.Auditors);
        var events = _chain.Propose(_chain.Sign(otherId, new ContractAction(new AuditMerge("mnist", other, 1, merged, AuditFinding.Agree, merged)))).Single();
        Assert.True(events.Accepted, events.Reason);
        Assert.Contains(events.Events, e => e.Kind == "verified");
        Assert.Contains(_chain.Blocks.SelectMany(b => b.Transactions), t => t.Body.Action is ContractAction { Tx: AuditMerge });
        Assert.NotEqual(publicationBlock, _chain.State.HeadHash);

        var follower = LedgerState.Before(TestChain.ChainId);
        foreach (var block in _chain.Blocks)
        {
            (follower, _) = ChainRules.Apply(follower, block);
        }
        Assert.Equal(_chain.State.StateRoot(), follower.StateRoot()); // every SN re-executes the audit the same way
        Assert.Equal([other], follower.Registry.Contracts["mnist"].MergedOf(1)!.AuditedBy!);
    }

    [Fact]
    public void The_archive_verifies_offline_and_a_changed_byte_is_found_in_its_block()
    {
        TwoNodesTrainOneRound();
        Save();
        var report = ChainVerifier.Verify(_file);
        Assert.True(report.Ok, report.FirstFault?.Message);
        Assert.Equal(4, report.Blocks);
        Assert.Equal(_chain.State.HeadHash, report.HeadHash);

        // One digit of a check-in's weight in block 3.
        var lines = File.ReadAllLines(_file);
        lines[3] = lines[3].Replace("\"weight\":100", "\"weight\":900", StringComparison.Ordinal);
        File.WriteAllLines(_file, lines);
        var tampered = ChainVerifier.Verify(_file);
        Assert.False(tampered.Ok);
        Assert.Equal(3, tampered.FirstFault!.Height);
        Assert.Contains("Merkle root", tampered.FirstFault.Message, StringComparison.Ordinal);
        Assert.Equal(3, tampered.Blocks);
    }

    [Fact]
    public void A_changed_header_breaks_the_proposer_signature_or_the_link()
    {
        TwoNodesTrainOneRound();
        Save();
        var lines = File.ReadAllLines(_file);
        lines[2] = lines[2].Replace("12:00:02", "12:00:09", StringComparison.Ordinal); // block 2's time
        File.WriteAllLines(_file, lines);
        var report = ChainVerifier.Verify(_file);
        Assert.Equal(2, report.FirstFault!.Height);
        Assert.Contains("signature", report.FirstFault.Message, StringComparison.Ordinal);

        Save();
        lines = File.ReadAllLines(_file);
        (lines[1], lines[2]) = (lines[2], lines[1]);
        File.WriteAllLines(_file, lines);
        Assert.Contains("expected height 1", ChainVerifier.Verify(_file).FirstFault!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transaction_with_a_bad_signature_is_refused_and_not_applied()
    {
        _chain.Propose(_chain.AddSender(Node1));
        var honest = _chain.Sign(Node1, TestChain.Register("node1"));
        var forged = honest with { Signature = _chain.Sign(Node1, TestChain.Register("node1")).Signature };
        var result = Assert.Single(_chain.Propose(forged));
        Assert.False(result.Accepted);
        Assert.Equal("bad-signature", result.Code);
        Assert.Empty(_chain.State.Registry.Contracts);

        _chain.AddSender(Node2, register: false);
        var unknown = Assert.Single(_chain.Propose(_chain.Sign(Node2, TestChain.Register("node2"))));
        Assert.Equal("unknown-sender", unknown.Code);
    }

    [Fact]
    public void Senders_may_only_send_what_their_identity_allows()
    {
        _chain.Propose(_chain.AddSender(Node1), _chain.AddSender(Node2));
        _chain.Propose(_chain.Sign(Node1, TestChain.Register("node1")), _chain.Sign(Node2, TestChain.Register("node2")));

        var impersonation = Assert.Single(_chain.Propose(_chain.Sign(Node2, TestChain.CheckIn("node1", 0, 7))));
        Assert.Equal("not-allowed", impersonation.Code);
        Assert.Contains("may not act for SL node 'node1'", impersonation.Reason, StringComparison.Ordinal);
        Assert.Empty(_chain.State.Registry.Contracts["mnist"].Round.CheckIns);

        var keyByNode = Assert.Single(_chain.Propose(_chain.Sign(Node1, new RegisterKey("spiffe://swarm.local/sn/evil", ChainRules.PublicKeyOf(_chain.SentinelKey)))));
        Assert.Equal("not-allowed", keyByNode.Code);
        var reset = Assert.Single(_chain.Propose(_chain.Sign(Node1, new ContractAction(new ResetContract("mnist")))));
        Assert.Contains("only operators", reset.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replayed_transaction_is_refused()
    {
        _chain.Propose(_chain.AddSender(Node1));
        var register = _chain.Sign(Node1, TestChain.Register("node1"));
        Assert.True(Assert.Single(_chain.Propose(register)).Accepted);
        Assert.Equal("replayed", Assert.Single(_chain.Propose(register)).Code);
        Assert.Equal("wrong-chain", Assert.Single(_chain.Propose(register with { Body = register.Body with { ChainId = "other" } })).Code);
    }

    [Fact]
    public void A_block_whose_state_root_disagrees_with_re_execution_stops_the_follower()
    {
        TwoNodesTrainOneRound();
        var last = _chain.Blocks[^1];
        var before = LedgerState.Before(TestChain.ChainId);
        foreach (var block in _chain.Blocks.Take(_chain.Blocks.Count - 1))
        {
            (before, _) = ChainRules.Apply(before, block);
        }
        // A proposer that claims another result for the same transactions, and signs its claim properly.
        var claim = last.Header with { StateRoot = new string('a', 64) };
        var signature = Convert.ToBase64String(_chain.SentinelKey.SignData(Block.HeaderBytes(claim), System.Security.Cryptography.HashAlgorithmName.SHA256));
        var error = Assert.Throws<ChainViolationException>(() => ChainRules.Apply(before, new Block(claim, last.Transactions, signature)));
        Assert.Equal(3, error.Height);
        Assert.Contains("state root mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Swarm_ledger_verify_reports_the_first_bad_block()
    {
        TwoNodesTrainOneRound();
        Save();
        var (ok, output) = await SwarmProcess.RunAsync("ledger", "verify", _file);
        Assert.True(ok == 0, output);
        Assert.Contains("ok: 4 blocks", output, StringComparison.Ordinal);

        var lines = File.ReadAllLines(_file);
        lines[2] = lines[2].Replace("node2", "node9", StringComparison.Ordinal);
        File.WriteAllLines(_file, lines);
        var (bad, badOutput) = await SwarmProcess.RunAsync("ledger", "verify", _file);
        Assert.Equal(1, bad);
        Assert.Contains("BAD: block 2:", badOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Backfilled_blocks_must_hash_back_to_the_first_archived_block()
    {
        TwoNodesTrainOneRound();
        var gap = new ArchiveGap(0, 2, _chain.Blocks[3].Header.PreviousHash, new string('0', 64));
        ArchiveGap.Check(gap, _chain.Blocks.Take(3).ToList());
        var inner = new ArchiveGap(1, 2, _chain.Blocks[3].Header.PreviousHash, "ff" + _chain.Blocks[0].Hash[2..]);
        Assert.Contains("last block of this SN's archive", Assert.Throws<ChainViolationException>(() => ArchiveGap.Check(inner, _chain.Blocks.Skip(1).Take(2).ToList())).Message, StringComparison.Ordinal);

        var other = new TestChain();
        var substituted = new List<Block> { _chain.Blocks[0], other.Blocks[0], _chain.Blocks[2] };
        Assert.Contains("another history", Assert.Throws<ChainViolationException>(() => ArchiveGap.Check(gap, substituted)).Message, StringComparison.Ordinal);
        Assert.Throws<ChainViolationException>(() => ArchiveGap.Check(gap, _chain.Blocks.Take(2).ToList()));
        other.Dispose();
    }

    private void Save()
    {
        File.Delete(_file);
        using var archive = new BlockFile(_file);
        foreach (var block in _chain.Blocks)
        {
            archive.Append(block);
        }
    }

    public void Dispose()
    {
        _chain.Dispose();
        File.Delete(_file);
    }
}
