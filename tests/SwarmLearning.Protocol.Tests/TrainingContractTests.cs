using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Tests;

/// <summary>The contract as a pure function: refusals, their codes and messages, idempotence, operator rights.</summary>
public sealed class TrainingContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ModelSignature Model = new([new TensorSpec("fc1.weight", DType.F32, [64, 784]), new TensorSpec("fc1.bias", DType.F32, [64])]);
    // Verification off: these tests are about rounds; VerifiedMergeTests covers audits.
    private static readonly TrainingParameters Params = new(MinPeers: 2, SyncFrequency: 10, Auditors: 0);
    private static readonly ContentHash H1 = ContentHash.Of([1]), H2 = ContentHash.Of([2]), H3 = ContentHash.Of([3]);

    private ContractRegistry _registry = ContractRegistry.Empty;
    private long _height;

    private TxOutcome Do(ContractTx tx, string sender, bool isOperator = false, int seconds = 0)
    {
        _height++; // each transaction in a block of its own
        (_registry, var outcome) = _registry.Apply(tx, new TxContext(sender, isOperator, T0.AddSeconds(seconds), _height, $"block-{_height - 1}"));
        return outcome;
    }

    /// <summary>Both nodes check in their initial models; round 0 closes at once (everyone is in) and round 1 opens.</summary>
    private ContentHash StartFrom(ContentHash a, ContentHash b, int seconds = 0)
    {
        Do(new CheckIn("c", "a", 0, ContentHash.None, a, 1), "a", seconds: seconds).EnsureAccepted();
        Do(new CheckIn("c", "b", 0, ContentHash.None, b, 1), "b", seconds: seconds).EnsureAccepted();
        return State.MergedOf(0)!.Hash;
    }

    /// <summary>Both nodes check in for round 1 (closing it) and its leader publishes <paramref name="merged"/>.</summary>
    private string MergeRoundOne(ContentHash start, ContentHash merged, int seconds = 0)
    {
        Do(new CheckIn("c", "a", 1, start, H1, 1), "a", seconds: seconds).EnsureAccepted();
        Do(new CheckIn("c", "b", 1, start, H2, 1), "b", seconds: seconds).EnsureAccepted();
        string leader = State.Round.CurrentLeader!;
        Do(new PublishMerge("c", leader, 1, merged, []), leader, seconds: seconds).EnsureAccepted();
        return leader;
    }

    private ContractState State => _registry.Contracts["c"];

    private void Register(string id, ModelSignature? model = null, TrainingParameters? parameters = null, bool canLead = true)
    {
        if (!_registry.Contracts.ContainsKey("c"))
        {
            // Created by an operator: a registration that creates a contract gets the default verification.
            Do(new CreateContract("c", parameters ?? Params, ContractTimings.Default), "admin", isOperator: true).EnsureAccepted();
        }
        Do(new RegisterNode("c", id, model ?? Model, parameters ?? Params, canLead), id).EnsureAccepted();
    }

    [Fact]
    public void A_merged_model_lost_with_its_leader_is_merged_again_after_the_leader_timeout_unless_someone_holds_it()
    {
        Register("a");
        Register("b");
        var start = StartFrom(H1, H1);
        var lostModel = ContentHash.Of([9]);
        string leader = MergeRoundOne(start, lostModel), other = leader == "a" ? "b" : "a";

        Assert.Equal("too-early", Do(new ReportLostMerge("c", other, 1, lostModel), other, seconds: 10).Code);
        Assert.Equal("own-merge", Do(new ReportLostMerge("c", leader, 1, lostModel), leader, seconds: 700).Code);
        Assert.Equal("not-latest", Do(new ReportLostMerge("c", other, 1, H3), other, seconds: 700).Code);

        var reopened = Do(new ReportLostMerge("c", other, 1, lostModel), other, seconds: 700);
        Assert.True(reopened.Accepted, reopened.Reason);
        Assert.Single(State.History);
        Assert.Equal(RoundPhase.Merging, State.Round.Phase);
        Assert.Equal(other, State.Round.CurrentLeader);
        Assert.Contains(reopened.Events, e => e.Text.Contains($"was lost with its leader '{leader}'", StringComparison.Ordinal));

        var again = ContentHash.Of([10]);
        Do(new PublishMerge("c", other, 1, again, []), other, seconds: 701).EnsureAccepted();
        // The first leader comes back and builds on the new merge: nobody may report that one lost any more.
        Do(new CheckIn("c", leader, 2, again, H3, 1), leader, seconds: 702).EnsureAccepted();
        var held = Do(new ReportLostMerge("c", leader, 1, again), leader, seconds: 1400);
        Assert.Equal("held", held.Code);
        Assert.Contains($"node '{leader}' has loaded the merged model of round 1", held.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_whose_model_differs_in_shape_is_refused_with_the_tensor_named()
    {
        Register("a");
        var other = new ModelSignature([new TensorSpec("fc1.weight", DType.F32, [128, 784]), new TensorSpec("fc1.bias", DType.F32, [64])]);
        var outcome = Do(new RegisterNode("c", "b", other, Params), "b");
        Assert.False(outcome.Accepted);
        Assert.Equal("signature-mismatch", outcome.Code);
        Assert.Contains("tensor 'fc1.weight' has shape [128,784] but [64,784] is expected", outcome.Reason);
    }

    [Fact]
    public void A_node_with_different_training_parameters_is_refused_with_the_parameter_named()
    {
        Register("a");
        var outcome = Do(new RegisterNode("c", "b", Model, Params with { MinPeers = 3 }), "b");
        Assert.Equal("parameter-mismatch", outcome.Code);
        Assert.Contains("parameter minPeers is 3 on this node but contract 'c' uses 2", outcome.Reason);
        Assert.Contains("mergeMethod", Do(new RegisterNode("c", "b", Model, Params with { MergeMethod = "geomedian" }), "b").Reason);
    }

    [Fact]
    public void Bad_parameters_and_unknown_merge_methods_are_refused_before_a_contract_exists()
    {
        Assert.Contains("minPeers must be at least 1", Do(new RegisterNode("c", "a", Model, Params with { MinPeers = 0 }), "a").Reason);
        Assert.Contains("unknown merge method 'average'", Do(new RegisterNode("c", "a", Model, Params with { MergeMethod = "average" }), "a").Reason);
        Assert.Empty(_registry.Contracts);
    }

    [Fact]
    public void A_node_whose_differential_privacy_settings_differ_is_refused_with_the_setting_named()
    {
        var dp = new Core.Privacy.DifferentialPrivacy(ClipNorm: 1, NoiseMultiplier: 1.2, Delta: 1e-5);
        Register("a", parameters: Params with { Privacy = dp });
        var louder = Do(new RegisterNode("c", "b", Model, Params with { Privacy = dp with { NoiseMultiplier = 0.5 } }), "b");
        Assert.EndsWith("parameter dpNoiseMultiplier is 0.5 on this node but contract 'c' uses 1.2; every node of a training must run with the same parameters", louder.Reason);
        var off = Do(new RegisterNode("c", "b", Model, Params), "b");
        Assert.Contains("parameter differential privacy is off on this node but contract 'c' uses clip 1, noise 1.2, delta 1e-05", off.Reason);
        Assert.Contains("dpDelta must be between 0 and 1", Do(new RegisterNode("d", "b", Model, Params with { Privacy = dp with { Delta = 2 } }), "b").Reason);
        Register("b", parameters: Params with { Privacy = dp });
        Assert.Equal("bad-progress", Do(new ReportProgress("c", "b", 0, 1, 2, null, null, Epsilon: -1), "b").Code);
        Do(new ReportProgress("c", "b", 0, 1, 2, null, null, Epsilon: 0.7), "b").EnsureAccepted();
        Assert.Equal(0.7, State.Nodes["b"].Progress!.Epsilon);
    }

    [Theory]
    [InlineData("bulyan:f=2", 10, "assumes at most f=2 bad models of n >= 4f+3 = 11, but minPeers is 10")]
    [InlineData("krum:f=2", 6, "assumes at most f=2 bad models of n >= 2f+3 = 7, but minPeers is 6")]
    [InlineData("centredclip", 2, "raise minPeers to 3")]
    public void A_robust_merge_whose_assumption_the_quorum_cannot_meet_is_refused(string method, int minPeers, string expected)
    {
        var outcome = Do(new RegisterNode("c", "a", Model, Params with { MergeMethod = method, MinPeers = minPeers }), "a");
        Assert.Equal("bad-merge-method", outcome.Code);
        Assert.Contains(expected, outcome.Reason);
        Assert.Empty(_registry.Contracts);
        Register("a", parameters: Params with { MergeMethod = method, MinPeers = minPeers + 1 });
    }

    [Fact]
    public void A_leader_that_left_every_model_out_may_only_carry_the_last_merged_model_over()
    {
        Register("a");
        Register("b");
        var start = StartFrom(H1, H2);
        Do(new CheckIn("c", "a", 1, start, H3, 1), "a").EnsureAccepted();
        Do(new CheckIn("c", "b", 1, start, ContentHash.Of([4]), 1), "b").EnsureAccepted();
        string leader = State.Round.CurrentLeader!;

        var invented = Do(new PublishMerge("c", leader, 1, ContentHash.Of([5]), ["a", "b"]), leader);
        Assert.Equal("excluded-all", invented.Code);
        Assert.Contains("it may only carry the last merged model over", invented.Reason);
        var carried = Do(new PublishMerge("c", leader, 1, start, ["a", "b"]), leader);
        Assert.True(carried.Accepted, carried.Reason);
        Assert.Equal(start, State.MergedOf(1)!.Hash);
        Assert.Contains(carried.Events, e => e.Text.Contains("no model could be merged (a, b left out)", StringComparison.Ordinal));
        Do(new CheckIn("c", "a", 2, start, H3, 1), "a").EnsureAccepted(); // nodes go on from the carried model
    }

    [Fact]
    public void A_node_may_contribute_only_if_up_to_date_with_the_previous_merged_model()
    {
        Register("a");
        Register("b");
        StartFrom(H1, H2);
        Assert.Equal(1, State.Round.Number); // everyone is in: round 0 closed without waiting the window

        var stale = Do(new CheckIn("c", "a", 1, ContentHash.None, H3, 1), "a");
        Assert.Equal("stale-base", stale.Code);
        Assert.Contains("load the latest merged model first", stale.Reason);
        Assert.Equal("future-round", Do(new CheckIn("c", "a", 5, State.LatestMerged!.Hash, H3, 1), "a").Code);
        Assert.True(Do(new CheckIn("c", "a", 1, State.LatestMerged!.Hash, H3, 1), "a").Accepted);
    }

    [Fact]
    public void A_retried_check_in_changes_nothing_and_a_different_second_one_is_refused()
    {
        Register("a");
        Register("b");
        Do(new CheckIn("c", "a", 0, ContentHash.None, H1, 1), "a").EnsureAccepted();
        long version = State.Version;
        Assert.True(Do(new CheckIn("c", "a", 0, ContentHash.None, H1, 1), "a").Accepted);
        Assert.Equal(version, State.Version);
        Assert.Equal("already-checked-in", Do(new CheckIn("c", "a", 0, ContentHash.None, H2, 1), "a").Code);
    }

    [Fact]
    public void Only_the_round_leader_may_publish_and_nothing_is_published_for_round_zero()
    {
        Register("a");
        Register("b");
        var start = StartFrom(H1, H2);
        Assert.Equal("already-merged", Do(new PublishMerge("c", "a", 0, H3, []), "a").Code); // the contract chose round 0's model
        Do(new CheckIn("c", "a", 1, start, H1, 1), "a");
        Do(new CheckIn("c", "b", 1, start, H2, 1), "b");
        string leader = State.Round.CurrentLeader!;
        string other = leader == "a" ? "b" : "a";
        Assert.Equal("not-leader", Do(new PublishMerge("c", other, 1, H1, []), other).Code);
        Assert.Equal("bad-exclusion", Do(new PublishMerge("c", leader, 1, H3, ["a"], ["b"]), leader).Code);
        Assert.Equal("bad-exclusion", Do(new PublishMerge("c", leader, 1, H3, ["a", "a"]), leader).Code);
        Assert.True(Do(new PublishMerge("c", leader, 1, H3, ["a"], ["a"]), leader).Accepted);
        Assert.Equal(["a"], State.MergedOf(1)!.Unreachable!);
    }

    [Fact]
    public void Round_zero_starts_from_the_initial_model_most_nodes_hold_and_says_when_there_is_none()
    {
        Do(new CreateContract("c", Params with { MinPeers = 3 }, new ContractTimings(TimeSpan.Zero, TimeSpan.FromSeconds(60), 2)), "admin", true);
        foreach (string id in new[] { "a", "b", "m" })
        {
            Register(id, parameters: Params with { MinPeers = 3 });
        }
        // Two nodes initialised from the contract's seed agree; one (m) offers its own starting point.
        Do(new CheckIn("c", "m", 0, ContentHash.None, H3, 1), "m").EnsureAccepted();
        Do(new CheckIn("c", "a", 0, ContentHash.None, H1, 1), "a").EnsureAccepted();
        var closed = Do(new CheckIn("c", "b", 0, ContentHash.None, H1, 1), "b");
        Assert.Equal(H1, State.MergedOf(0)!.Hash);
        Assert.NotEqual("m", State.MergedOf(0)!.Leader);
        Assert.Contains(closed.Events, e => e.Text.Contains("2 of 3 nodes hold the initial model", StringComparison.Ordinal));

        _registry = ContractRegistry.Empty;
        Register("a");
        Register("b");
        StartFrom(H1, H2);
        Assert.Contains(State.MergedOf(0)!.Hash, new[] { H1, H2 });
        Assert.Equal(State.MergedOf(0)!.Hash, State.MergedOf(0)!.Leader == "a" ? H1 : H2);
    }

    [Fact]
    public void A_node_acts_only_for_itself_and_operators_alone_create_remove_and_reset()
    {
        Register("a");
        Assert.Equal("not-sender", Do(new CheckIn("c", "a", 0, ContentHash.None, H1, 1), "mallory").Code);
        Assert.Equal("not-operator", Do(new CreateContract("d", Params, ContractTimings.Default), "a").Code);
        Assert.Equal("not-operator", Do(new ResetContract("c"), "a").Code);
        Assert.Equal("no-contract", Do(new CheckIn("zzz", "a", 0, ContentHash.None, H1, 1), "a").Code);
        Assert.True(Do(new RemoveNode("c", "a"), "admin", isOperator: true).Accepted);
        Assert.Equal(NodeStatus.Left, State.Nodes["a"].Status);
        Assert.True(Do(new ResetContract("c"), "admin", isOperator: true).Accepted);
        Assert.Empty(State.Nodes);
    }

    [Fact]
    public void Quorum_waits_for_min_peers_then_the_window_and_the_deadline_is_visible()
    {
        Do(new CreateContract("c", Params, new ContractTimings(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), 2)), "admin", true);
        Register("a");
        Register("b");
        Register("x");
        Do(new CheckIn("c", "a", 0, ContentHash.None, H1, 1), "a", seconds: 1);
        Assert.Null(State.Round.ReadyAt);
        Assert.Null(State.NextDeadline);
        Do(new CheckIn("c", "b", 0, ContentHash.None, H2, 1), "b", seconds: 2);
        Assert.Equal(T0.AddSeconds(32), State.NextDeadline);
        Do(new Tick("c"), "a", seconds: 31);
        Assert.Null(State.MergedOf(0));
        Do(new Tick("c"), "a", seconds: 32);
        var start = State.MergedOf(0)!.Hash;
        Do(new CheckIn("c", "a", 1, start, H1, 1), "a", seconds: 40);
        Do(new CheckIn("c", "b", 1, start, H2, 1), "b", seconds: 41);
        Do(new Tick("c"), "a", seconds: 71);
        Assert.Equal(RoundPhase.Merging, State.Round.Phase);
        Assert.Equal(T0.AddSeconds(131), State.NextDeadline);
        Do(new Tick("c"), "a", seconds: 131);
        Assert.Equal(1, State.Round.LeaderIndex); // the first leader timed out
    }

    [Fact]
    public void A_leader_may_leave_out_a_late_model_it_cannot_fetch_by_its_contribution_key()
    {
        Do(new CreateContract("c", Params, new ContractTimings(TimeSpan.Zero, TimeSpan.FromSeconds(60), 2)), "admin", true);
        Register("a");
        Register("b");
        Register("x");
        foreach (var (id, hash) in new[] { ("a", H1), ("b", H2) }) // x sits the first rounds out
        {
            Do(new CheckIn("c", id, 0, ContentHash.None, hash, 1), id, seconds: 1).EnsureAccepted();
        }
        Do(new Tick("c"), "a", seconds: 2);
        var round0 = State.LatestMerged!.Hash;
        Do(new CheckIn("c", "a", 1, round0, ContentHash.Of([11]), 1), "a", seconds: 3).EnsureAccepted();
        Do(new CheckIn("c", "b", 1, round0, ContentHash.Of([12]), 1), "b", seconds: 3).EnsureAccepted();
        Do(new Tick("c"), "a", seconds: 4);
        string leader = State.Round.CurrentLeader!;
        Do(new PublishMerge("c", leader, 1, ContentHash.Of([13]), []), leader, seconds: 5).EnsureAccepted();
        var late = Do(new CheckIn("c", "x", 1, round0, ContentHash.Of([14]), 1), "x", seconds: 6);
        Assert.Contains(late.Events, e => e.Text.Contains("will be merged into round 2", StringComparison.Ordinal));

        Do(new CheckIn("c", "a", 2, State.LatestMerged!.Hash, ContentHash.Of([21]), 1), "a", seconds: 7).EnsureAccepted();
        Do(new CheckIn("c", "b", 2, State.LatestMerged!.Hash, ContentHash.Of([22]), 1), "b", seconds: 7).EnsureAccepted();
        Do(new Tick("c"), "a", seconds: 8);
        leader = State.Round.CurrentLeader!;
        string key = MergeContribution.KeyFor("x", 1);
        Assert.Contains(State.Round.Contributions, c => c.Key == key && c.Staleness == 1);

        var published = Do(new PublishMerge("c", leader, 2, ContentHash.Of([23]), [key]), leader, seconds: 9);
        Assert.True(published.Accepted, published.Reason);
        Assert.Equal([key], State.History[^1].Excluded);
        Assert.Equal("malformed", Do(new PublishMerge("c", leader, 3, ContentHash.Of([24]), ["x@1"]), leader, seconds: 10).Code);
    }

    [Fact]
    public void Contract_state_is_the_same_for_the_same_transactions_applied_twice()
    {
        ContractState Run()
        {
            _registry = ContractRegistry.Empty;
            Register("a");
            Register("b");
            Do(new CheckIn("c", "a", 0, ContentHash.None, H1, 1), "a", seconds: 1);
            Do(new CheckIn("c", "b", 0, ContentHash.None, H2, 3), "b", seconds: 2);
            return State;
        }
        var first = Run();
        var second = Run();
        Assert.Equal(first.Round.LeaderOrder, second.Round.LeaderOrder);
        Assert.Equal(first.Round.Contributions, second.Round.Contributions);
        Assert.Equal(first.Version, second.Version);
    }
}
