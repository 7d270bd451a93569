using FsCheck;
using FsCheck.Xunit;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Tests;

/// <summary>The audit rules of the contract as a pure function: who is drawn and when, who may judge, how verdicts decide.</summary>
public sealed class AuditContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ModelSignature Model = new([new TensorSpec("w", DType.F32, [4])]);
    private static readonly string[] Nodes = ["a", "b", "c", "d", "e"];
    private static readonly ContentHash Start = ContentHash.Of([1]), Merged = ContentHash.Of([2]), Other = ContentHash.Of([3]);

    private ContractRegistry _registry = ContractRegistry.Empty;
    private long _height;
    private int _seconds;
    private readonly Dictionary<long, string> _hashes = [];

    /// <summary>Applies <paramref name="tx"/> in a block of its own (or the last one); <paramref name="hash"/> names the block's hash.</summary>
    private TxOutcome Do(ContractTx tx, string sender, bool sameBlock = false, string? hash = null, bool isOperator = false)
    {
        _height += sameBlock ? 0 : 1;
        (_registry, var outcome) = _registry.Apply(tx, new TxContext(sender, isOperator, T0.AddSeconds(_seconds), _height,
            _hashes.GetValueOrDefault(_height - 1), h => _hashes.GetValueOrDefault(h)));
        if (!sameBlock || hash is not null)
        {
            _hashes[_height] = hash ?? $"block-{_height}";
        }
        return outcome;
    }

    private ContractState State => _registry.Contracts["c"];

    private AuditState Audit => State.Audit!;

    /// <summary>Five nodes start from the same model; round 1 closes; its leader publishes <see cref="Merged"/>.</summary>
    private string Published(int auditors = 1, string? publicationHash = null)
    {
        Do(new CreateContract("c", new TrainingParameters(5, 10, Auditors: auditors), new ContractTimings(TimeSpan.Zero, TimeSpan.FromSeconds(60), 2)), "op", isOperator: true)
            .EnsureAccepted();
        foreach (string id in Nodes)
        {
            Do(new RegisterNode("c", id, Model, new TrainingParameters(5, 10)), id).EnsureAccepted();
        }
        foreach (string id in Nodes)
        {
            Do(new CheckIn("c", id, 0, ContentHash.None, Start, 1), id).EnsureAccepted();
        }
        foreach (string id in Nodes)
        {
            Do(new CheckIn("c", id, 1, Start, ContentHash.Of([(byte)(10 + id[0])]), 1), id).EnsureAccepted();
        }
        string leader = State.Round.CurrentLeader!;
        Do(new PublishMerge("c", leader, 1, Merged, []), leader, hash: publicationHash).EnsureAccepted();
        return leader;
    }

    /// <summary>The drawn auditor overrules (escalating), then two more of the four-node panel: a majority, with nobody marked.</summary>
    private void OverruledByTheAuditorAndTwoOfThePanel()
    {
        Judge(Audit.Auditors[0], AuditFinding.Overruled, Merged).EnsureAccepted();
        foreach (string member in Audit.Panel.Where(p => p != Audit.Auditors[0]).Take(2))
        {
            Judge(member, AuditFinding.Overruled, Merged);
        }
    }

    private TxOutcome Judge(string node, AuditFinding finding, ContentHash? recomputed = null) =>
        Do(new AuditMerge("c", node, 1, Merged, finding, recomputed ?? (finding == AuditFinding.Agree ? Merged : Other)), node);

    [Fact]
    public void Auditors_are_drawn_in_a_later_block_from_the_hash_of_the_block_holding_the_publication()
    {
        var drawnBy = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            (_registry, _height, _seconds) = (ContractRegistry.Empty, 0, 0);
            _hashes.Clear();
            string leader = Published(publicationHash: $"publication-{i}");
            Do(new Tick("c"), leader, sameBlock: true); // the publication's own block: its hash is not known yet
            Assert.False(Audit.Drawn);
            // Whichever later block draws, and whatever blocks a leader makes before it, the draw is the same.
            var atOnce = _registry;
            Do(new Tick("c"), leader);
            var drawn = Audit.Auditors;
            _registry = atOnce;
            Do(new Tick("c"), "op", hash: "a block the leader made", isOperator: true);
            Assert.Equal(drawn, Audit.Auditors);
            Assert.DoesNotContain(leader, drawn);
            drawnBy.Add(Assert.Single(drawn));
        }
        Assert.True(drawnBy.Count > 1, "the auditor depends on the publication block's hash, which nobody knows before it is committed");
    }

    [Fact]
    public void A_rejected_leader_may_not_publish_again_until_the_order_comes_round_to_it()
    {
        string leader = Published();
        Do(new Tick("c"), leader);
        OverruledByTheAuditorAndTwoOfThePanel();
        Assert.Null(State.MergedOf(1)); // rejected, nobody marked
        Assert.Equal("not-leader", Do(new PublishMerge("c", leader, 1, Merged, []), leader).Code);
        Assert.NotEqual(leader, State.Round.CurrentLeader);
        Assert.Equal([State.Round.CurrentLeader!], State.Round.LeadersSoFar);
    }

    [Fact]
    public void Malformed_or_abusive_verdicts_and_reports_are_refused()
    {
        string leader = Published();
        Do(new Tick("c"), leader);
        string bystander = Nodes.First(n => n != leader && !Audit.Auditors.Contains(n));
        Assert.Equal("not-auditor", Judge(bystander, AuditFinding.Overruled, Merged).Code); // no free full-panel recomputes
        Assert.Equal("being-audited", Do(new ReportLostMerge("c", bystander, 1, Merged), bystander).Code);
        string[] twice = [.. Enumerable.Repeat(Nodes[0], 3)];
        Assert.Equal("malformed", Do(new PublishMerge("c", leader, 1, Other, ["not a key!"]), leader).Code);
    }

    [Fact]
    public void A_registration_that_creates_a_contract_cannot_turn_verification_off_and_timings_are_bounded()
    {
        Do(new RegisterNode("c", "a", Model, new TrainingParameters(2, 10, Auditors: 0)), "a").EnsureAccepted();
        Assert.Equal(TrainingParameters.DefaultAuditors, State.Parameters.Auditors);
        var huge = new ContractTimings(TimeSpan.FromDays(365 * 1000), TimeSpan.FromSeconds(60), 2);
        Assert.Equal("bad-parameters", Do(new CreateContract("d", new TrainingParameters(2, 10), huge), "op", isOperator: true).Code);
    }

    [Fact]
    public void The_next_round_cannot_close_while_the_merge_before_it_is_being_audited()
    {
        Published();
        Do(new Tick("c"), "a");
        foreach (string id in Nodes)
        {
            Do(new CheckIn("c", id, 2, Merged, ContentHash.Of([(byte)(30 + id[0])]), 1), id).EnsureAccepted();
        }
        Assert.Equal(RoundPhase.Collecting, State.Round.Phase);
        Judge(Audit.Auditors[0], AuditFinding.Agree).EnsureAccepted();
        Assert.Null(State.Audit);
        Assert.Equal([Audit_Was(State)], State.MergedOf(1)!.AuditedBy!);
        Do(new Tick("c"), "a");
        Assert.Equal(RoundPhase.Merging, State.Round.Phase);
    }

    private static string Audit_Was(ContractState state) => state.MergedOf(1)!.AuditedBy![0];

    [Fact]
    public void Only_auditors_may_agree_anyone_else_may_only_dispute_and_the_leader_may_not_judge_its_own_merge()
    {
        string leader = Published();
        Do(new Tick("c"), leader);
        string auditor = Audit.Auditors[0];
        string bystander = Nodes.First(n => n != leader && n != auditor);
        Assert.Equal("not-auditor", Judge(bystander, AuditFinding.Agree).Code);
        Assert.Equal("own-merge", Judge(leader, AuditFinding.Agree).Code);
        Assert.Equal("not-audited", Do(new AuditMerge("c", auditor, 1, Other, AuditFinding.Agree, Other), auditor).Code);
        Judge(auditor, AuditFinding.Agree).EnsureAccepted();
        Assert.Equal("no-audit", Judge(auditor, AuditFinding.Wrong).Code);
    }

    [Fact]
    public void A_panel_majority_that_finds_the_merge_wrong_marks_the_leader_and_those_who_vouched_for_it_and_the_round_is_merged_again()
    {
        string leader = Published(auditors: 2);
        Do(new Tick("c"), leader);
        var (first, second) = (Audit.Auditors[0], Audit.Auditors[1]);
        Judge(first, AuditFinding.Agree).EnsureAccepted(); // a colluder vouches
        Assert.Null(State.Audit!.Escalated ? "" : null);
        var dispute = Judge(second, AuditFinding.Wrong);
        Assert.True(State.Audit!.Escalated, string.Join("\n", dispute.Events.Select(e => e.Text)));
        Assert.Equal(4, Audit.Panel.Count);
        Assert.Equal("already-judged", Judge(second, AuditFinding.Agree).Code);
        var rest = Audit.Panel.Where(p => p != first && p != second).ToList();
        Judge(rest[0], AuditFinding.Wrong).EnsureAccepted();
        Assert.NotNull(State.Audit); // 2 of 4 is no majority yet
        var decided = Judge(rest[1], AuditFinding.Wrong);

        Assert.Null(State.Audit);
        Assert.NotNull(State.Nodes[leader].Byzantine);
        Assert.NotNull(State.Nodes[first].Byzantine);
        Assert.All(Nodes.Where(n => n != leader && n != first), n => Assert.Null(State.Nodes[n].Byzantine));
        Assert.Null(State.MergedOf(1));
        Assert.Equal(RoundPhase.Merging, State.Round.Phase);
        Assert.Equal(1, State.Round.Number);
        Assert.DoesNotContain(State.Round.Contributions, c => c.NodeId == leader || c.NodeId == first);
        Assert.NotEqual(leader, State.Round.CurrentLeader);
        Assert.Contains(decided.Events, e => e.Kind == "rejected");
        // Found out: refused from now on, and the quorum no longer waits for them.
        Assert.Equal("byzantine", Do(new CheckIn("c", leader, 1, Start, Other, 1), leader).Code);
        Assert.Equal("byzantine", Do(new RegisterNode("c", leader, Model, new TrainingParameters(5, 10)), leader).Code);
        Assert.Equal(3, State.Quorum());
    }

    [Fact]
    public void A_panel_majority_that_recomputes_the_merge_marks_the_auditor_who_called_it_wrong()
    {
        string leader = Published();
        Do(new Tick("c"), leader);
        string liar = Audit.Auditors[0];
        Judge(liar, AuditFinding.Wrong).EnsureAccepted();
        foreach (string member in Audit.Panel.Where(p => p != liar).Take(3))
        {
            Judge(member, AuditFinding.Agree);
        }
        Assert.Null(State.Audit);
        Assert.NotNull(State.MergedOf(1)!.AuditedBy);
        Assert.NotNull(State.Nodes[liar].Byzantine);
        Assert.Null(State.Nodes[leader].Byzantine);
    }

    [Fact]
    public void An_overruled_exclusion_has_the_round_merged_again_without_marking_anyone()
    {
        string leader = Published();
        Do(new Tick("c"), leader);
        OverruledByTheAuditorAndTwoOfThePanel();
        Assert.Null(State.MergedOf(1));
        Assert.All(Nodes, n => Assert.Null(State.Nodes[n].Byzantine));
    }

    [Fact]
    public void Silent_auditors_escalate_the_verdicts_cast_decide_and_a_silent_panel_lets_the_merge_pass_unaudited()
    {
        string leader = Published();
        Do(new Tick("c"), leader);
        _seconds = 61;
        Do(new Tick("c"), leader);
        Assert.True(Audit.Escalated);
        _seconds = 200;
        Do(new Tick("c"), leader);
        Assert.Equal([], State.MergedOf(1)!.AuditedBy!); // nobody else answered (all crashed): unaudited, not merged again for ever
        Assert.All(Nodes, n => Assert.Null(State.Nodes[n].Byzantine));

        _registry = ContractRegistry.Empty;
        (_height, _seconds) = (0, 0);
        leader = Published();
        Do(new Tick("c"), leader);
        _seconds = 61;
        Do(new Tick("c"), leader);
        Judge(Audit.Panel[0], AuditFinding.Agree).EnsureAccepted(); // one answers, the rest crashed
        _seconds = 200;
        Do(new Tick("c"), leader);
        Assert.Equal([Audit_Was(State)], State.MergedOf(1)!.AuditedBy!);

        _registry = ContractRegistry.Empty;
        (_height, _seconds) = (0, 0);
        leader = Published();
        Do(new Tick("c"), leader);
        Judge(Audit.Auditors[0], AuditFinding.Unavailable).EnsureAccepted(); // escalates; nobody else answers
        _seconds = 200;
        Do(new Tick("c"), leader);
        Assert.Null(State.MergedOf(1)); // the one verdict cast does not confirm it: merged again, nobody marked
        Assert.All(Nodes, n => Assert.Null(State.Nodes[n].Byzantine));
    }

    [Fact]
    public void A_node_registering_with_timings_other_than_the_contract_s_is_refused_and_one_without_takes_them()
    {
        Do(new CreateContract("c", new TrainingParameters(2, 10), new ContractTimings(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), 2)), "op", isOperator: true);
        var refused = Do(new RegisterNode("c", "a", Model, new TrainingParameters(2, 10), Timings: ContractTimings.Default), "a");
        Assert.Equal("timing-mismatch", refused.Code);
        Assert.Contains("wait window", refused.Reason);
        Assert.True(Do(new RegisterNode("c", "a", Model, new TrainingParameters(2, 10)), "a").Accepted);
    }

    /// <summary>
    /// However attackers mix on-time and late check-ins (the same model twice, other models, stale bases), no merge ever
    /// holds two contributions of one node: f attackers cast at most f votes.
    /// </summary>
    [Property(MaxTest = 60)]
    public void No_merge_ever_holds_two_contributions_of_one_node(byte[] schedule)
    {
        _registry = ContractRegistry.Empty;
        _height = 0;
        Do(new CreateContract("c", new TrainingParameters(3, 10, Auditors: 0), new ContractTimings(TimeSpan.Zero, TimeSpan.FromSeconds(60), 3)), "op", isOperator: true);
        foreach (string id in Nodes)
        {
            Do(new RegisterNode("c", id, Model, new TrainingParameters(3, 10)), id);
        }
        foreach (byte step in schedule ?? [])
        {
            string node = Nodes[step % Nodes.Length];
            long round = State.Round.Number - (step / Nodes.Length % 3);
            if (round < 0)
            {
                continue;
            }
            var baseHash = round == 0 ? ContentHash.None : State.MergedOf(round - 1)?.Hash ?? ContentHash.None;
            Do(new CheckIn("c", node, round, baseHash, ContentHash.Of([step]), 1 + step % 2), node);
            if (State.Round.Phase == RoundPhase.Merging)
            {
                var keys = State.Round.Contributions.Select(c => c.NodeId).ToList();
                Assert.Equal(keys.Count, keys.Distinct().Count());
                string leader = State.Round.CurrentLeader!;
                Do(new PublishMerge("c", leader, State.Round.Number, ContentHash.Of([step, 1]), []), leader);
            }
        }
        Assert.All(State.History, m => Assert.Equal(m.Contributions.Count, m.Contributions.Select(c => c.NodeId).Distinct().Count()));
    }
}
