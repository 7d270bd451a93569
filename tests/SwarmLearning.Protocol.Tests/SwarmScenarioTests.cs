using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Tests;

/// <summary>The seed's scenarios (docs/protocol.md), each run as a whole swarm on simulated time.</summary>
public sealed class SwarmScenarioTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    [Fact]
    public void Every_node_starts_from_the_same_model_and_all_finish_with_the_same_final_model()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3, SyncFrequency: 2));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 3);
        }
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);

        var final = swarm.FinalHashOf("a");
        Assert.Equal(final, swarm.FinalHashOf("b"));
        Assert.Equal(final, swarm.FinalHashOf("c"));
        var state = swarm.State;
        Assert.Equal(ContractStatus.Completed, state.Status);
        Assert.Equal(state.FinalModel, final);
        // 3 epochs x 4 batches / syncFrequency 2 = 6 syncs, plus the initial sync and the final merge.
        Assert.Equal(7, state.History.Count);
        Assert.All(state.History.Skip(1), m => Assert.Equal(3, m.Contributions.Count));
        Assert.Equal(state.History[0].Hash, state.History[0].Contributions.Single(c => c.NodeId == state.History[0].Leader).ModelHash);
    }

    [Fact]
    public void Server_momentum_adds_the_last_merged_update_and_every_node_still_ends_on_the_same_model()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3, SyncFrequency: 2, MergeMethod: "fedavgm:0.5"));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 3);
        }
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);

        var state = swarm.State;
        Assert.Equal(ContractStatus.Completed, state.Status);
        Assert.All(new[] { "a", "b", "c" }, id => Assert.Equal(state.FinalModel, swarm.FinalHashOf(id)));
        // From the second merge on, the published model is not the plain mean of the contributions.
        var round = state.History[3];
        var mean = Core.Merging.MergeMethods.Parse("mean").Merge(
            [.. round.Contributions.Select(c => new Core.Merging.Contribution(c.Key, swarm.Model(c.ModelHash), c.WeightMicros))]).Model;
        Assert.NotEqual(SafetensorsWriter.Hash(mean), round.Hash);
    }

    [Fact]
    public void Merging_pulls_every_node_toward_the_shared_optimum_better_than_training_alone()
    {
        var swarm = new SwarmHarness(new TrainingParameters(3, 2))
        {
            SharedOptimum = [.. Enumerable.Range(0, FakeSession.Size).Select(i => new[] { 1, 2, 3 }.Average(s => FakeSession.Optimum(s)[i]))],
        };
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 4);
        }
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);
        double swarmLoss = swarm.Nodes["a"].Session.Evaluate()!.Loss;

        var alone = new FakeSession(1, swarm.Time, TimeSpan.Zero, swarm.SharedOptimum);
        for (int i = 0; i < 16; i++)
        {
            alone.Step();
        }
        Assert.True(swarmLoss < alone.Evaluate()!.Loss / 4, $"swarm {swarmLoss} vs alone {alone.Evaluate()!.Loss}");
    }

    [Fact]
    public void Training_continues_without_a_dropped_node_when_at_least_min_peers_remain()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 4);
        }
        swarm.RunUntil(() => swarm.State.History.Count >= 3, Hour);
        swarm.Crash("c");
        long roundAtCrash = swarm.State.Round.Number;

        swarm.RunUntil(() => swarm.AllDone("a", "b"), Hour);

        Assert.True(swarm.State.History.Count > roundAtCrash + 2);
        Assert.Equal(swarm.FinalHashOf("a"), swarm.FinalHashOf("b"));
        Assert.All(swarm.State.History.Skip((int)roundAtCrash + 1), m => Assert.DoesNotContain(m.Contributions, c => c.NodeId == "c"));
    }

    [Fact]
    public void Training_pauses_without_busy_waiting_below_min_peers_and_resumes_when_a_node_returns()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3, SyncFrequency: 2));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 3);
        }
        swarm.RunUntil(() => swarm.State.History.Count >= 2, Hour);
        swarm.Crash("c");
        swarm.RunFor(TimeSpan.FromMinutes(5));
        long pausedAt = swarm.State.Round.Number;
        int transactions = swarm.Ledger.Log.Count;

        swarm.RunFor(TimeSpan.FromHours(2));

        Assert.Equal(pausedAt, swarm.State.Round.Number);
        Assert.Equal(RoundPhase.Collecting, swarm.State.Round.Phase);
        Assert.Equal(transactions, swarm.Ledger.Log.Count); // two hours paused, not one transaction: no polling
        Assert.False(swarm.AllDone("a") || swarm.AllDone("b"));

        swarm.Start("c", epochs: 3);
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);
        Assert.Equal(swarm.FinalHashOf("a"), swarm.FinalHashOf("c"));
    }

    [Fact]
    public void A_dropped_node_rejoins_from_the_latest_merged_model_and_contributes_from_the_next_round()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 5);
        }
        swarm.RunUntil(() => swarm.State.History.Count >= 3, Hour);
        swarm.Crash("c");
        swarm.RunUntil(() => swarm.State.History.Count >= 6, Hour);

        var rejoined = swarm.Start("c", epochs: 5);
        swarm.RunUntil(() => rejoined.Base is not null, Hour);
        long adopted = rejoined.Base!.Round;
        var state = swarm.State;
        Assert.True(adopted >= 5, "the rejoined node loaded the latest merged model, not round 0");
        Assert.DoesNotContain(state.History[(int)adopted].Contributions, c => c.NodeId == "c" && c.Staleness == 0);

        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);
        var history = swarm.State.History;
        Assert.Contains(history.Skip((int)adopted + 1), m => m.Contributions.Any(c => c.NodeId == "c"));
        Assert.Equal(swarm.FinalHashOf("a"), swarm.FinalHashOf("c"));
    }

    [Fact]
    public void A_new_node_added_mid_training_starts_from_the_latest_merged_model()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        swarm.Start("a", epochs: 5);
        swarm.Start("b", epochs: 5);
        swarm.RunUntil(() => swarm.State.History.Count >= 4, Hour);

        var late = swarm.Start("newcomer", epochs: 2);
        swarm.RunUntil(() => late.Base is not null, Hour);
        Assert.True(late.Base!.Round >= 3);
        Assert.DoesNotContain(swarm.State.History.Take((int)late.Base.Round + 1), m => m.Contributions.Any(c => c.NodeId == "newcomer"));

        swarm.RunUntil(() => swarm.AllDone("a", "b", "newcomer"), Hour);
        Assert.Contains(swarm.State.History, m => m.Contributions.Any(c => c.NodeId == "newcomer"));
        Assert.Equal(swarm.FinalHashOf("a"), swarm.FinalHashOf("newcomer"));
    }

    [Fact]
    public void A_slow_node_contributions_are_merged_into_a_later_round_with_a_discounted_weight()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        swarm.Start("fast1", epochs: 6, batchSeconds: 1);
        swarm.Start("fast2", epochs: 6, batchSeconds: 1);
        swarm.Start("slow", epochs: 2, batchSeconds: 3.4);
        swarm.RunUntil(() => swarm.AllDone("fast1", "fast2", "slow"), Hour);

        var late = swarm.State.History.SelectMany(m => m.Contributions.Select(c => (m.Round, c))).Where(p => p.c.Staleness > 0).ToList();
        Assert.NotEmpty(late);
        Assert.All(late, p =>
        {
            Assert.Equal("slow", p.c.NodeId);
            Assert.InRange(p.c.Staleness, 1, 2);
            Assert.Equal(TrainingContract.WeightScale / (p.c.Staleness + 1), p.c.WeightMicros);
            Assert.Equal($"slow@r{p.Round - p.c.Staleness}", p.c.Key);
        });
        Assert.Equal(swarm.FinalHashOf("fast1"), swarm.FinalHashOf("slow"));
    }

    [Fact]
    public void A_model_too_many_rounds_behind_is_dropped_and_the_slow_node_resyncs()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2), new ContractTimings(TimeSpan.Zero, TimeSpan.FromSeconds(20), MaxStaleness: 1));
        swarm.Start("fast1", epochs: 8, batchSeconds: 1);
        swarm.Start("fast2", epochs: 8, batchSeconds: 1);
        swarm.Start("snail", epochs: 2, batchSeconds: 7);
        swarm.RunUntil(() => swarm.AllDone("fast1", "fast2", "snail"), Hour);

        Assert.All(swarm.State.History.SelectMany(m => m.Contributions), c => Assert.InRange(c.Staleness, 0, 1));
        Assert.Contains(swarm.NodeLog, line => line.Contains("snail: behind the swarm", StringComparison.Ordinal) && line.Contains("refused (too-stale)", StringComparison.Ordinal));
        Assert.Equal(swarm.FinalHashOf("fast1"), swarm.FinalHashOf("snail"));
    }

    [Fact]
    public void A_failed_leader_is_replaced_after_the_timeout_and_the_round_completes()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 3);
        }
        string? victim = null;
        long victimRound = -1;
        swarm.Ledger.Applied += (tx, outcome) =>
        {
            var state = swarm.State;
            if (victim is null && state.Round.Number == 2 && state.Round.Phase == RoundPhase.Merging)
            {
                victim = state.Round.CurrentLeader;
                victimRound = state.Round.Number;
                swarm.Nodes[victim!].Cancel.Cancel(); // dies the moment it is chosen, before merging
                swarm.Network.SetReachable(victim!, false);
            }
        };
        swarm.RunUntil(() => swarm.State.History.Count > victimRound && victimRound > 0, Hour);

        var merged = swarm.State.History[(int)victimRound];
        Assert.NotEqual(victim, merged.Leader);
        Assert.Contains(swarm.Events, e => e.Contains($"leader '{victim}' did not publish round {victimRound}", StringComparison.Ordinal));
        Assert.Contains(victim, merged.Excluded);
        var survivors = new[] { "a", "b", "c" }.Where(id => id != victim).ToArray();
        swarm.RunUntil(() => swarm.AllDone(survivors), Hour);
        Assert.Equal(swarm.FinalHashOf(survivors[0]), swarm.FinalHashOf(survivors[1]));
    }

    [Fact]
    public void A_merged_model_lost_with_its_leader_before_anyone_fetched_it_is_merged_again()
    {
        // Without verification: with it, the auditor that recomputed the model holds it too (VerifiedMergeTests).
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2, Auditors: 0));
        foreach (var id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 3);
        }
        string? victim = null;
        swarm.Ledger.Applied += (tx, outcome) =>
        {
            // The leader of round 2 dies the moment its publication is on the ledger, its files with it.
            if (victim is null && tx is PublishMerge { Round: 2 } publish && outcome.Accepted)
            {
                victim = publish.NodeId;
                swarm.Nodes[victim].Cancel.Cancel();
                swarm.Network.SetReachable(victim, false);
            }
        };
        swarm.RunUntil(() => victim is not null && swarm.State.History.Count > 2 && swarm.State.History[2].Leader != victim, Hour);

        Assert.Contains(swarm.Events, e => e.Contains($"of round 2 was lost with its leader '{victim}'", StringComparison.Ordinal));
        var survivors = new[] { "a", "b", "c" }.Where(id => id != victim).ToArray();
        swarm.RunUntil(() => swarm.AllDone(survivors), Hour);
        Assert.Equal(swarm.FinalHashOf(survivors[0]), swarm.FinalHashOf(survivors[1]));
        Assert.Equal(swarm.State.FinalModel, swarm.FinalHashOf(survivors[0]));
    }

    [Fact]
    public void A_leader_whose_publication_failed_tries_again_when_the_order_comes_back_to_it()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        var healed = swarm.Time.GetUtcNow() + TimeSpan.FromSeconds(30);
        bool Down() => swarm.Time.GetUtcNow() < healed && swarm.State.Round.Number >= 1;
        swarm.Start("a", epochs: 2, wrapLedger: l => new FlakyLedger(l, Down));
        swarm.Start("b", epochs: 2, wrapLedger: l => new FlakyLedger(l, Down));
        swarm.RunUntil(() => swarm.AllDone("a", "b"), Hour);

        // Round 1: the first leader's publication is lost, so is the second's after its timeout; then the first leads again.
        Assert.Equal(2, swarm.Events.Count(e => e.Contains("did not publish round 1", StringComparison.Ordinal)));
        Assert.Equal(swarm.FinalHashOf("a"), swarm.FinalHashOf("b"));
    }

    [Fact]
    public void A_node_that_joins_after_the_end_while_every_holder_of_the_final_model_is_gone_fails_with_a_clear_error()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        swarm.Start("a", epochs: 2);
        swarm.Start("b", epochs: 2);
        swarm.RunUntil(() => swarm.AllDone("a", "b"), Hour);
        swarm.Network.SetReachable("a", false); // their programs finished and their nodes stopped
        swarm.Network.SetReachable("b", false);

        swarm.Start("late", epochs: 2);
        var failure = Assert.Throws<InvalidOperationException>(() => swarm.RunUntil(() => false, Hour));

        var error = Assert.IsType<SwarmLearning.Core.SwarmException>(failure.InnerException);
        Assert.Contains($"training in contract '{SwarmHarness.ContractName}' is over", error.Message, StringComparison.Ordinal);
        Assert.Contains("--ml-cmd ''", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_that_opts_out_of_leadership_never_leads()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3, SyncFrequency: 1));
        swarm.Start("a", epochs: 3);
        swarm.Start("b", epochs: 3, canLead: false);
        swarm.Start("c", epochs: 3, canLead: false);
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);
        Assert.All(swarm.State.History, m => Assert.Equal("a", m.Leader));
    }

    [Fact]
    public void The_leader_is_a_pure_function_of_contract_state_that_every_node_computes_alike()
    {
        var order1 = TrainingContract.LeaderOrder("c1", 7, ["n1", "n2", "n3", "n4"]);
        var order2 = TrainingContract.LeaderOrder("c1", 7, ["n4", "n3", "n2", "n1"]);
        Assert.Equal(order1, order2);
        var leaders = Enumerable.Range(0, 40).Select(r => TrainingContract.LeaderOrder("c1", r, ["n1", "n2", "n3", "n4"])[0]).ToHashSet();
        Assert.True(leaders.Count >= 3, "leadership rotates across rounds");
    }

    [Theory]
    [InlineData(TrainEndPolicy.Inactive)]
    [InlineData(TrainEndPolicy.Snapshot)]
    [InlineData(TrainEndPolicy.Active)]
    public void A_node_that_finishes_early_contributes_by_its_train_end_policy_and_still_gets_the_final_model(TrainEndPolicy policy)
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        swarm.Start("early", epochs: 1, configure: o => o with { CheckinModelOnTrainEnd = policy.ToString().ToLowerInvariant() });
        swarm.Start("long1", epochs: 4);
        swarm.Start("long2", epochs: 4);
        swarm.RunUntil(() => swarm.AllDone("early", "long1", "long2"), Hour);

        var state = swarm.State;
        Assert.Contains(swarm.Events, e => e.StartsWith("node 'early' finished", StringComparison.Ordinal));
        var after = state.History.Where(m => m.Round > 3).ToList();
        Assert.NotEmpty(after);
        foreach (var merged in after)
        {
            var mine = merged.Contributions.SingleOrDefault(c => c.NodeId == "early");
            switch (policy)
            {
                case TrainEndPolicy.Inactive:
                    Assert.Null(mine); // weight 0: counted for quorum, not merged
                    break;
                case TrainEndPolicy.Active:
                    Assert.Equal(state.History[(int)merged.Round - 1].Hash, mine!.ModelHash);
                    break;
                default:
                    Assert.NotNull(mine);
                    Assert.NotEqual(state.History[(int)merged.Round - 1].Hash, mine.ModelHash);
                    break;
            }
        }
        Assert.Equal(swarm.FinalHashOf("long1"), swarm.FinalHashOf("early"));
    }

    [Fact]
    public void A_round_waits_the_window_for_more_peers_after_quorum_but_closes_at_once_when_everyone_is_in()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2), new ContractTimings(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), 2));
        swarm.Start("a", epochs: 1, batchSeconds: 1);
        swarm.Start("b", epochs: 1, batchSeconds: 1);
        swarm.Start("c", epochs: 1, batchSeconds: 10);
        swarm.RunUntil(() => swarm.State.History.Count >= 2, Hour);
        var round1 = swarm.State.History[1];
        Assert.Equal(3, round1.Contributions.Count); // c came 18 s after quorum, inside the 30 s window
        int quorum = swarm.Events.FindIndex(e => e.StartsWith("round 1 has its quorum", StringComparison.Ordinal));
        int late = swarm.Events.FindIndex(e => e.StartsWith("node 'c' checked in for round 1", StringComparison.Ordinal));
        Assert.InRange(quorum, 0, late - 1); // the round waited after quorum instead of closing
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), swarm.State.History[0].At); // everyone registered was in: no wait
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);
    }

    [Fact]
    public void Ten_nodes_with_random_dropouts_and_rejoins_all_finish_with_the_same_final_model()
    {
        var random = new Random(2026);
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 4, SyncFrequency: 2, MergeMethod: "coordmedian"));
        var ids = Enumerable.Range(0, 10).Select(i => $"node{i:00}").ToArray();
        foreach (var id in ids)
        {
            swarm.Start(id, epochs: 10, batchSeconds: 0.5 + random.NextDouble(), seed: Array.IndexOf(ids, id) + 1);
        }
        for (int step = 0; step < 15; step++)
        {
            swarm.RunFor(TimeSpan.FromSeconds(3 + random.Next(8)));
            var up = ids.Where(id => !swarm.Nodes[id].Task.IsCompleted).ToArray();
            if (up.Length > 5)
            {
                swarm.Crash(up[random.Next(up.Length)]);
            }
            var down = ids.Where(id => swarm.Nodes[id].Task.IsCanceled).ToArray();
            if (down.Length > 0 && random.Next(2) == 0)
            {
                var back = down[random.Next(down.Length)];
                swarm.Start(back, epochs: 10, batchSeconds: 0.5 + random.NextDouble(), seed: Array.IndexOf(ids, back) + 1);
            }
        }
        foreach (var id in ids.Where(id => swarm.Nodes[id].Task.IsCanceled))
        {
            swarm.Start(id, epochs: 10, seed: Array.IndexOf(ids, id) + 1);
        }
        swarm.RunUntil(() => swarm.AllDone(ids), TimeSpan.FromHours(4));

        var final = swarm.State.FinalModel;
        Assert.False(final.IsNone);
        Assert.All(ids, id => Assert.Equal(final, swarm.FinalHashOf(id)));
        Assert.True(swarm.Events.Count(e => e.Contains("registered again", StringComparison.Ordinal)) >= 3, "nodes really dropped out and came back");
        Assert.True(swarm.State.History.Count > 15);
    }

    [Fact]
    public void A_node_whose_model_differs_in_shape_cannot_join_a_running_swarm_and_is_told_which_tensor()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        swarm.Start("a", epochs: 2);
        var ledger = swarm.Ledger.For("odd");
        var node = new Node.SwarmNode(new Node.SwarmNodeOptions("odd", SwarmHarness.ContractName, swarm.Parameters), ledger,
            swarm.Network.StoreOf("odd"), swarm.Network.TransportOf("odd"), swarm.Time);
        var odd = new Core.Model.ModelSignature([new Core.Model.TensorSpec("layer.weight", Core.Model.DType.F32, [4, 4]), new Core.Model.TensorSpec("bn.num_batches_tracked", Core.Model.DType.I64, [])]);
        var error = Assert.Throws<Core.SwarmException>(() => swarm.Scheduler.Enter(() => node.RegisterAsync(odd, default)).GetAwaiter().GetResult());
        Assert.Contains("tensor 'layer.weight' has shape [4,4] but [3,4] is expected", error.Message);
    }
}
