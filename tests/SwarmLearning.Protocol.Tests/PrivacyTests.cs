using SwarmLearning.Core.Privacy;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Tests;

/// <summary>Differential privacy in the node session: what leaves each node is clipped and noised, and ε reaches the ledger.</summary>
public sealed class PrivacyTests
{
    [Fact]
    public void Every_check_in_after_the_first_is_the_last_merged_model_plus_an_update_clipped_to_C_and_each_node_reports_its_epsilon()
    {
        var dp = new DifferentialPrivacy(ClipNorm: 0.5, NoiseMultiplier: 1e-4, Delta: 1e-5);
        var swarm = new SwarmHarness(new TrainingParameters(MinPeers: 3, SyncFrequency: 2, Privacy: dp));
        foreach (string id in new[] { "a", "b", "c" })
        {
            swarm.Start(id, epochs: 2);
        }
        swarm.RunUntil(() => swarm.AllDone("a", "b", "c"), TimeSpan.FromHours(1));

        var state = swarm.State;
        Assert.Equal(ContractStatus.Completed, state.Status);
        int clipped = 0;
        for (int round = 1; round < state.History.Count; round++)
        {
            var before = swarm.Model(state.History[round - 1].Hash)["layer.weight"].AsSpan<float>().ToArray();
            foreach (var contribution in state.History[round].Contributions)
            {
                var offered = swarm.Model(contribution.ModelHash)["layer.weight"].AsSpan<float>().ToArray();
                double norm = Math.Sqrt(offered.Zip(before).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second)));
                Assert.True(norm <= 0.5 + 0.01, $"round {round}, {contribution.NodeId}: update norm {norm}");
                clipped += norm > 0.49 ? 1 : 0;
            }
        }
        Assert.True(clipped > 0, "the fake program's updates are longer than C, so clipping must have acted");
        // 2 epochs x 4 batches / 2 = 4 periodic check-ins, each one release; the final sync trained nothing since.
        var accountant = new RdpAccountant(dp.NoiseMultiplier);
        accountant.Step(q: 1, steps: 4);
        Assert.All(state.Nodes.Values, n => Assert.Equal(accountant.Epsilon(dp.Delta), n.Progress!.Epsilon!.Value, 6));
        Assert.Contains(swarm.NodeLog, line => line.Contains("differential privacy: update norm", StringComparison.Ordinal) && line.Contains("4 releases so far", StringComparison.Ordinal));
        Assert.All(state.Nodes.Values, n => Assert.Null(n.Progress!.Loss)); // validation results stay on the node

        // A program that registers again (or a restarted node) resumes its budget from the ledger, not from zero.
        var again = new Session.NodeSession(new Session.NodeSessionContext("a", swarm.Ledger.For("a"), swarm.Network.StoreOf("a"), swarm.Network.TransportOf("a")));
        var parameters = new Session.SwarmParameters(2, 3) { TrainingContract = SwarmHarness.ContractName, DpClipNorm = 0.5, DpNoiseMultiplier = 1e-4, DpDelta = 1e-5 };
        var model = swarm.Nodes["a"].Session.GetParameters();
        swarm.Complete(() => again.RegisterAsync(parameters, model.Signature, CancellationToken.None));
        Assert.Equal(accountant.Epsilon(dp.Delta), again.Node!.PrivacySpent!.Value, 6);
        // Nothing trained leaves a private node unmeasured: a periodic sync before the initial one is refused.
        var refused = Assert.Throws<Session.InvalidMlRequestException>(() =>
            swarm.Complete(() => again.SyncAsync(Session.SyncKind.Periodic, model, 1, trainedSinceSync: false, CancellationToken.None)));
        Assert.Contains("sync INITIAL first", refused.Message);
        // Its initial sync offers the swarm's latest merged model, not the trained one it holds.
        var initial = swarm.Complete(() => again.SyncAsync(Session.SyncKind.Initial, model, 0, trainedSinceSync: false, CancellationToken.None));
        Assert.Equal(state.FinalModel, initial.Model);
        Assert.Contains("useAdaptiveSync cannot be used with differential privacy", Assert.Throws<Session.InvalidMlRequestException>(() =>
            swarm.Complete(() => again.RegisterAsync(parameters with { UseAdaptiveSync = true }, model.Signature, CancellationToken.None))).Message);
    }
}
