using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Attacks;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Tests;

/// <summary>
/// Verified merges on simulated time (docs/verification.md): Byzantine nodes are real nodes whose node itself lies (as a
/// leader, an auditor, a file server or a voter); what is asserted is what the ledger decided and what each honest
/// program actually loaded.
/// </summary>
public sealed class VerifiedMergeTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly string[] Honest = ["a", "b", "c", "d"];

    private static SwarmHarness Run(AttackKind kind, int attackers = 1, string merge = "mean", int auditors = 1, int epochs = 8,
        Action<SwarmHarness>? before = null)
    {
        int nodes = Honest.Length + attackers;
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: nodes, SyncFrequency: 2, MergeMethod: merge, Auditors: auditors));
        var attack = new Attack(kind, attackers);
        string[] bad = [.. Enumerable.Range(0, attackers).Select(i => $"x{i}")];
        before?.Invoke(swarm);
        swarm.MayFail.UnionWith(bad); // a node found Byzantine is refused: its program stops with that error
        foreach (string id in Honest.Concat(bad))
        {
            bool byzantine = id.StartsWith('x');
            swarm.Start(id, epochs,
                program: byzantine && attack.ProgramAttack is not AttackKind.None
                    ? channel => new AttackingChannel(channel, attack.ProgramAttack, seed: id.Length)
                    : null,
                byzantine: byzantine && ByzantineNode.Needed(kind) ? new ByzantineNode(kind, bad.ToHashSet(), seed: 7) : null);
        }
        swarm.RunUntil(() => swarm.AllDone(Honest) && swarm.State.Status == ContractStatus.Completed, Hour);
        return swarm;
    }

    private static void AssertHonestNodesAgreeOnAVerifiedFinalModel(SwarmHarness swarm)
    {
        var final = swarm.FinalHashOf(Honest[0]);
        // What each honest program actually holds at the end, not the ledger read twice.
        Assert.All(Honest, id => Assert.Equal(final, swarm.Nodes[id].Session.Loaded[^1]));
        Assert.Equal(swarm.State.FinalModel, final);
        Assert.All(swarm.State.History.Skip(1), m => Assert.NotNull(m.AuditedBy));
        Assert.NotEmpty(swarm.State.History[^1].AuditedBy!);
        Assert.All(Honest, id => Assert.Null(swarm.State.Nodes[id].Byzantine));
        Assert.All(Honest, id => Assert.False(swarm.Nodes[id].Session.LoadedNonFinite));
    }

    [Theory]
    [InlineData(AttackKind.LeaderRandom)]
    [InlineData(AttackKind.LeaderMean)]
    [InlineData(AttackKind.LeaderInvalid)]
    [InlineData(AttackKind.LeaderNaN)]
    public void A_leader_whose_publication_is_recomputably_false_is_caught_in_that_round_marked_and_the_round_merged_again(AttackKind kind)
    {
        var swarm = Run(kind, merge: "coordmedian");
        var mark = swarm.State.Nodes["x0"].Byzantine;
        Assert.NotNull(mark);
        Assert.Contains("published a wrong merge", mark.Reason, StringComparison.Ordinal);
        // Caught in the round it lied: the rejection names that round's merge, and no merged model it published survived.
        Assert.Contains(swarm.Events, e => e.Contains($"round {mark.Round}: the merge", StringComparison.Ordinal) && e.Contains("by 'x0' is rejected", StringComparison.Ordinal));
        Assert.DoesNotContain(swarm.State.History, m => m.Leader == "x0");
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void A_leader_that_claims_honest_models_unreachable_is_overruled_without_being_marked()
    {
        var swarm = Run(AttackKind.LeaderExclude, merge: "coordmedian");
        Assert.Contains(swarm.Events, e => e.Contains("finds the merge by 'x0' overruled", StringComparison.Ordinal));
        Assert.Contains(swarm.Events, e => e.Contains("by 'x0' is rejected", StringComparison.Ordinal) && e.Contains("nobody is marked", StringComparison.Ordinal));
        Assert.Null(swarm.State.Nodes["x0"].Byzantine); // "unreachable" cannot be proven false: overruled, not blamed
        Assert.DoesNotContain(swarm.State.History, m => m.Leader == "x0" && m.Excluded.Count > 0);
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void A_node_never_hands_its_program_a_merged_model_holding_NaN()
    {
        var swarm = Run(AttackKind.LeaderNaN, merge: "mean");
        Assert.Contains(swarm.NodeLog, line => line.Contains("will not load merged model", StringComparison.Ordinal) && line.Contains("NaN", StringComparison.Ordinal));
        Assert.All(Honest, id => Assert.False(swarm.Nodes[id].Session.LoadedNonFinite));
        Assert.NotNull(swarm.State.Nodes["x0"].Byzantine);
    }

    [Fact]
    public void A_lying_auditor_is_outvoted_by_the_panel_and_marked_and_the_honest_merge_stands()
    {
        var swarm = Run(AttackKind.AuditorLie, merge: "mean", auditors: 2);
        var mark = swarm.State.Nodes["x0"].Byzantine;
        Assert.NotNull(mark);
        Assert.Contains("the panel recomputed it and found it right", mark.Reason, StringComparison.Ordinal);
        Assert.Contains(swarm.Events, e => e.Contains("every other active node", StringComparison.Ordinal));
        Assert.DoesNotContain(swarm.Events, e => e.Contains("is rejected", StringComparison.Ordinal));
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void A_contributor_that_drip_feeds_its_file_is_left_out_and_named_and_the_round_goes_on()
    {
        var swarm = Run(AttackKind.Drip, before: s => s.Network.SetDripping("x0", true));
        Assert.Contains(swarm.NodeLog, line => line.Contains("left contribution x0 out", StringComparison.Ordinal) && line.Contains("did not arrive within", StringComparison.Ordinal));
        Assert.Contains(swarm.State.History, m => (m.Unreachable ?? []).Contains("x0"));
        Assert.Null(swarm.State.Nodes["x0"].Byzantine); // slow is not Byzantine
        Assert.DoesNotContain(swarm.Events, e => e.Contains("leader-failed", StringComparison.Ordinal) || e.Contains("did not publish", StringComparison.Ordinal));
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void A_double_voter_never_gets_a_second_contribution_into_a_round()
    {
        var swarm = Run(AttackKind.DoubleVote, attackers: 2, merge: "krum:f=1,m=2");
        Assert.Contains(swarm.Events, e => e.Contains("a node has one vote per round", StringComparison.Ordinal));
        foreach (var merged in swarm.State.History)
        {
            Assert.Equal(merged.Contributions.Count, merged.Contributions.Select(c => c.NodeId).Distinct().Count());
        }
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void A_silent_leader_costs_the_timeout_derived_from_merge_times_not_the_fixed_one()
    {
        var swarm = Run(AttackKind.LeaderSilent);
        var failures = swarm.Events.Where(e => e.Contains("did not publish", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(failures);
        // The harness's fixed leader timeout is 20 s; merges here take no simulated time, so the floor (10 s) applies.
        Assert.Contains(failures, e => e.Contains("within 10 s", StringComparison.Ordinal));
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void Honest_swarms_are_verified_every_round_and_nobody_is_marked()
    {
        var swarm = Run(AttackKind.None, attackers: 0, merge: "centredclip");
        Assert.DoesNotContain(swarm.Events, e => e.Contains("every other active node", StringComparison.Ordinal));
        Assert.All(swarm.State.History.Skip(1), m => Assert.Single(m.AuditedBy!));
        AssertHonestNodesAgreeOnAVerifiedFinalModel(swarm);
    }

    [Fact]
    public void A_leader_whose_merge_overflows_carries_the_last_model_over_and_is_not_marked()
    {
        // x0 declares the largest weight and checks in float32's largest values: server momentum on top of a mean pinned
        // there overflows. The leader carries the last model over; the auditors recompute the same and agree.
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 5, SyncFrequency: 2, MergeMethod: "fedavgm:0.9"));
        swarm.MayFail.Add("x0");
        foreach (string id in Honest.Append("x0"))
        {
            swarm.Start(id, epochs: 4, configure: id == "x0" ? p => p with { SampleCount = int.MaxValue } : null,
                program: id == "x0" ? channel => new ExtremesChannel(channel) : null);
        }
        swarm.RunUntil(() => swarm.AllDone(Honest), Hour);
        Assert.Contains(swarm.NodeLog, line => line.Contains("the last merged model", StringComparison.Ordinal) && line.Contains("carries over", StringComparison.Ordinal));
        Assert.All(Honest.Append("x0"), id => Assert.Null(swarm.State.Nodes[id].Byzantine));
        Assert.All(Honest, id => Assert.False(swarm.Nodes[id].Session.LoadedNonFinite));
        Assert.Equal(swarm.State.FinalModel, swarm.FinalHashOf("a"));
    }

    /// <summary>A program that checks in float32's largest values.</summary>
    private sealed class ExtremesChannel(Session.IMlChannel inner) : Session.IMlChannel
    {
        public Task<Session.SessionRegistration> RegisterAsync(Session.SwarmParameters parameters, Core.Model.ModelState model, CancellationToken cancellationToken) =>
            inner.RegisterAsync(parameters, model, cancellationToken);

        public Task<(Session.MergedModel Merged, Core.Model.ModelState Model)> SyncAsync(Session.SyncKind kind, Core.Model.ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken)
        {
            if (kind != Session.SyncKind.Initial)
            {
                model = model.Clone();
                model["layer.weight"].AsSpan<float>().Fill(float.MaxValue);
            }
            return inner.SyncAsync(kind, model, epochsDone, trainedSinceSync, cancellationToken);
        }

        public Task<int> ReportAsync(int epochsDone, Ports.Evaluation? evaluation, CancellationToken cancellationToken) => inner.ReportAsync(epochsDone, evaluation, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public void Without_verification_a_lying_leader_is_adopted_which_is_what_verification_is_for()
    {
        var swarm = Run(AttackKind.LeaderRandom, merge: "coordmedian", auditors: 0);
        Assert.Contains(swarm.State.History, m => m.Leader == "x0");
        Assert.Null(swarm.State.Nodes["x0"].Byzantine);
        var lies = swarm.State.History.Where(m => m.Leader == "x0").Select(m => m.Hash).ToHashSet();
        Assert.Contains(swarm.Nodes["a"].Session.Loaded, lies.Contains);
    }
}
