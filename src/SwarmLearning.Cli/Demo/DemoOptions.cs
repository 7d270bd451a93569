using SwarmLearning.Core;
using SwarmLearning.Core.Merging;

namespace SwarmLearning.Cli.Demo;

/// <summary>What `swarm demo` runs.</summary>
internal sealed record DemoOptions(int Nodes, int MinPeers, string MergeMethod, int Epochs, int SyncFrequency, bool DropOne, int Seed, string OutputDirectory)
{
    /// <summary>Throws a <see cref="SwarmException"/> saying what to change when the options cannot work.</summary>
    public void Validate()
    {
        if (Nodes < 1)
        {
            throw new SwarmException($"--nodes must be at least 1 (got {Nodes})");
        }
        if (MinPeers < 1 || MinPeers > Nodes)
        {
            throw new SwarmException($"--min-peers is {MinPeers} but there are {Nodes} nodes: the training would wait forever. Use a value from 1 to {Nodes}");
        }
        if (DropOne && Nodes - 1 < MinPeers)
        {
            throw new SwarmException($"--drop-one takes a node away, leaving {Nodes - 1}, fewer than --min-peers {MinPeers}: the swarm would pause until it returns (that works, but the demo is about continuing); lower --min-peers or add nodes");
        }
        if (Epochs < 1 || SyncFrequency < 1)
        {
            throw new SwarmException("--epochs and --sync-frequency must be at least 1");
        }
        MergeMethods.Parse(MergeMethod);
    }
}
