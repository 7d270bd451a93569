using SwarmLearning.Core;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Attacks;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Tests;

/// <summary>Byzantine programs: each attacker is a real node of the swarm, and the attack changes exactly what it checks in.</summary>
public sealed class AttackTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    // FakeSession moves a quarter of the way to its optimum per batch: after 2 batches, base + (1 - 0.75²)(optimum - base).
    private const float TwoBatches = 1 - 0.75f * 0.75f;

    private static (SwarmHarness Swarm, ContractState State) Run(AttackKind kind, int attackers = 1, string merge = "mean")
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3 + attackers, SyncFrequency: 2, MergeMethod: merge));
        var coordinator = new LittleIsEnough(3 + attackers, attackers);
        string[] ids = ["a", "b", "c", .. Enumerable.Range(0, attackers).Select(i => $"x{i}")];
        foreach (string id in ids)
        {
            swarm.Start(id, epochs: 2, program: id.StartsWith('x') ? channel => new AttackingChannel(channel, kind, seed: 97 * id.Length + id[^1] /* not GetHashCode: randomized per process */, coordinator) : null);
        }
        swarm.RunUntil(() => swarm.AllDone(ids), Hour);
        return (swarm, swarm.State);
    }

    private static float[] Weights(SwarmHarness swarm, MergeContribution contribution) => swarm.Model(contribution.ModelHash)["layer.weight"].AsSpan<float>().ToArray();

    private static float[] Base(SwarmHarness swarm, ContractState state, int round) => swarm.Model(state.History[round - 1].Hash)["layer.weight"].AsSpan<float>().ToArray();

    [Fact]
    public void A_sign_flip_attacker_checks_in_its_update_negated_and_scaled_while_honest_nodes_check_in_what_they_trained()
    {
        var (swarm, state) = Run(AttackKind.SignFlip);
        Assert.Equal(ContractStatus.Completed, state.Status);
        var optimum = FakeSession.Optimum(4); // x0 is the fourth node started
        var honestOptimum = FakeSession.Optimum(1);
        for (int round = 1; round < state.History.Count - 1; round++)
        {
            var before = Base(swarm, state, round);
            var contributions = state.History[round].Contributions;
            var attacker = Weights(swarm, contributions.Single(c => c.NodeId == "x0"));
            var honest = Weights(swarm, contributions.Single(c => c.NodeId == "a"));
            for (int e = 0; e < before.Length; e++)
            {
                float update = TwoBatches * (optimum[e] - before[e]);
                Assert.Equal(before[e] - Attack.SignFlipScale * update, attacker[e], 3);
                Assert.Equal(before[e] + TwoBatches * (honestOptimum[e] - before[e]), honest[e], 3);
            }
        }
    }

    [Fact]
    public void A_gaussian_attacker_checks_in_random_parameters_and_the_merge_still_counts_it_as_a_node()
    {
        var (swarm, state) = Run(AttackKind.Gaussian);
        Assert.Equal(ContractStatus.Completed, state.Status);
        Assert.Equal(4, state.Nodes.Count);
        var random = state.History.Skip(1).SkipLast(1).SelectMany(m => Weights(swarm, m.Contributions.Single(c => c.NodeId == "x0"))).ToArray();
        double mean = random.Average(), deviation = Math.Sqrt(random.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.5, 0.5);
        Assert.InRange(deviation, 0.6, 1.4);
        // Every round still merged four models: the attacker registered and checked in like the others.
        Assert.All(state.History.Skip(1), m => Assert.Equal(4, m.Contributions.Count));
    }

    [Fact]
    public void Little_is_enough_attackers_check_in_the_same_model_shifted_z_deviations_from_their_mean_update()
    {
        var (swarm, state) = Run(AttackKind.LittleIsEnough, attackers: 2);
        double z = LittleIsEnough.ShiftFor(5, 2);
        var (first, second) = (FakeSession.Optimum(4), FakeSession.Optimum(5));
        for (int round = 1; round < state.History.Count - 1; round++)
        {
            var before = Base(swarm, state, round);
            var contributions = state.History[round].Contributions;
            var x0 = Weights(swarm, contributions.Single(c => c.NodeId == "x0"));
            Assert.Equal(x0, Weights(swarm, contributions.Single(c => c.NodeId == "x1")));
            for (int e = 0; e < before.Length; e++)
            {
                double u0 = TwoBatches * (first[e] - before[e]), u1 = TwoBatches * (second[e] - before[e]);
                double expected = before[e] + (u0 + u1) / 2 - z * Math.Abs(u0 - u1) / Math.Sqrt(2); // the sample deviation of two
                Assert.Equal(expected, x0[e], 3);
            }
        }
    }

    [Fact]
    public void When_every_model_diverges_the_last_merged_model_carries_over_and_the_training_still_ends()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3, SyncFrequency: 2));
        foreach (string id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 2, program: channel => new DivergingChannel(channel));
        }
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), Hour);

        var state = swarm.State;
        Assert.Equal(ContractStatus.Completed, state.Status);
        Assert.All(state.History.Skip(1), m => Assert.Equal(state.History[0].Hash, m.Hash));
        Assert.Equal(state.History[0].Hash, state.FinalModel);
        Assert.Contains(swarm.NodeLog, line => line.Contains("no model of round 1 could be merged", StringComparison.Ordinal));
    }

    [Fact]
    public void A_robust_merge_left_with_too_few_models_merges_by_the_coordinate_median_and_says_so()
    {
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 7, SyncFrequency: 2, MergeMethod: "bulyan:f=1"));
        string[] ids = [.. Enumerable.Range(0, 7).Select(i => $"n{i}")];
        foreach (string id in ids)
        {
            swarm.Start(id, epochs: 2, program: id == "n6" ? channel => new DivergingChannel(channel) : null);
        }
        swarm.RunUntil(() => swarm.AllDone(ids), Hour);

        var state = swarm.State;
        Assert.Equal(ContractStatus.Completed, state.Status);
        Assert.All(state.History.Skip(1).SkipLast(1), m => Assert.Equal(["n6"], m.Excluded));
        Assert.NotEqual(state.History[0].Hash, state.History[1].Hash); // merged, not carried over
        Assert.Contains(swarm.NodeLog, line => line.Contains("(bulyan:f=1 needs 7 models, 6 usable: merged by the coordinate median instead)", StringComparison.Ordinal));
    }

    /// <summary>A program whose training blew up: every trained model it offers holds NaN.</summary>
    private sealed class DivergingChannel(Session.IMlChannel inner) : Session.IMlChannel
    {
        public Task<Session.SessionRegistration> RegisterAsync(Session.SwarmParameters parameters, ModelState model, CancellationToken cancellationToken) =>
            inner.RegisterAsync(parameters, model, cancellationToken);

        public Task<(Session.MergedModel Merged, ModelState Model)> SyncAsync(Session.SyncKind kind, ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken)
        {
            if (kind != Session.SyncKind.Initial && trainedSinceSync)
            {
                model = model.Clone();
                model["layer.weight"].AsSpan<float>().Fill(float.NaN);
            }
            return inner.SyncAsync(kind, model, epochsDone, trainedSinceSync, cancellationToken);
        }

        public Task<int> ReportAsync(int epochsDone, Ports.Evaluation? evaluation, CancellationToken cancellationToken) =>
            inner.ReportAsync(epochsDone, evaluation, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    [Theory]
    [InlineData(0.975, 1.959964)]
    [InlineData(0.6, 0.253347)]
    [InlineData(0.5, 0)]
    public void The_shift_uses_the_inverse_normal(double p, double expected) =>
        Assert.Equal(expected, LittleIsEnough.InverseNormal(p), 5);

    [Fact]
    public void Attacks_are_parsed_with_clear_errors()
    {
        Assert.Equal(new Attack(AttackKind.LittleIsEnough, 2), Attack.Parse("little-is-enough:2"));
        Assert.Equal("signflip:3", Attack.Parse("SignFlip:3").ToString());
        Assert.Equal(Attack.None, Attack.Parse("none"));
        Assert.Contains("unknown attack 'flood:2'", Assert.Throws<SwarmException>(() => Attack.Parse("flood:2")).Message);
        Assert.Contains("needs how many nodes attack", Assert.Throws<SwarmException>(() => Attack.Parse("gaussian")).Message);
        Assert.Contains("leave at least one honest node", Attack.Parse("gaussian:3").Problem(3));
        Assert.True(Attack.Parse("gaussian:2").IsAttacker(9, 10));
        Assert.False(Attack.Parse("gaussian:2").IsAttacker(7, 10));
    }
}
