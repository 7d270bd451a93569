using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Node;

namespace SwarmLearning.Protocol.Tests;

public sealed class AdaptiveSyncTests
{
    [Fact]
    public void The_interval_grows_while_loss_improves_and_shrinks_when_it_does_not_within_bounds()
    {
        var interval = new AdaptiveSyncInterval(8, enabled: true);
        interval.Observe(1.0);
        Assert.Equal(8, interval.Current);
        interval.Observe(0.9);
        Assert.Equal(12, interval.Current);
        for (double loss = 0.8; loss > 0.01; loss *= 0.8)
        {
            interval.Observe(loss);
        }
        Assert.Equal(64, interval.Current);
        interval.Observe(5);
        Assert.Equal(32, interval.Current);
        for (int i = 0; i < 10; i++)
        {
            interval.Observe(5);
        }
        Assert.Equal(2, interval.Current);
    }

    [Fact]
    public void Without_adaptive_sync_the_interval_never_changes()
    {
        var interval = new AdaptiveSyncInterval(8, enabled: false);
        interval.Observe(1);
        interval.Observe(0.1);
        Assert.Equal(8, interval.Current);
    }

    [Fact]
    public void A_swarm_with_adaptive_sync_syncs_less_often_while_it_learns_and_still_agrees_on_the_final_model()
    {
        var fixedSwarm = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2));
        var adaptive = new SwarmHarness(new TrainingParameters(MinPeers: 2, SyncFrequency: 2, UseAdaptiveSync: true));
        foreach (var swarm in new[] { fixedSwarm, adaptive })
        {
            swarm.SharedOptimum = FakeSession.Optimum(1);
            swarm.Start("a", epochs: 6, seed: 1);
            swarm.Start("b", epochs: 6, seed: 1);
            swarm.RunUntil(() => swarm.AllDone("a", "b"), TimeSpan.FromHours(1));
        }
        Assert.True(adaptive.State.History.Count < fixedSwarm.State.History.Count);
        Assert.Equal(adaptive.FinalHashOf("a"), adaptive.FinalHashOf("b"));
    }
}
