using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Node;

/// <summary>How one SL node takes part in a training contract.</summary>
public sealed record SwarmNodeOptions(string NodeId, string Contract, TrainingParameters Parameters)
{
    /// <summary>The node's weight in merges: nodeWeightage (HPE's 1 to 100) times its sample count (docs/sl-node.md, "Node weight").</summary>
    public long Weight { get; init; } = 1;

    /// <summary>False opts the node out of leading merges (HPE: SL_MAKE_ME_ADMIN=False).</summary>
    public bool CanLead { get; init; } = true;

    /// <summary>checkinModelOnTrainEnd: what the node contributes after its last epoch while peers still train.</summary>
    public TrainEndPolicy TrainEnd { get; init; } = TrainEndPolicy.Snapshot;

    /// <summary>Where peers fetch this node's parameter files (its file server), if networked.</summary>
    public string? Address { get; init; }

    /// <summary>Timings proposed if this node's registration creates the contract.</summary>
    public ContractTimings? Timings { get; init; }

    /// <summary>How long to wait before retrying a failed fetch or an ineffective tick.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How this node lies (attacks in simulate, fault drills); null for an honest node.</summary>
    public IByzantineBehaviour? Byzantine { get; init; }

    /// <summary>The total epochs, for progress reports.</summary>
    public int TotalEpochs { get; init; }
}

/// <summary>The result of a sync: the merged model to load (in the node's store), its round, and whether the training is over.</summary>
public sealed record SyncOutcome(Core.Files.ContentHash Model, long Round, bool TrainingOver);
