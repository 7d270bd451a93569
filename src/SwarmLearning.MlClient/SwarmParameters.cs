namespace SwarmLearning.MlClient;

/// <summary>The swarm callback's parameters (the same names as HPE's and our Python callback's).</summary>
/// <param name="SyncFrequency">Local batches between syncs (the start value when adaptive).</param>
/// <param name="MinPeers">Quorum: a round merges only when this many nodes reached the sync point.</param>
public sealed record SwarmParameters(int SyncFrequency, int MinPeers)
{
    /// <summary>Names the training; several can run on one network.</summary>
    public string TrainingContract { get; init; } = "default";

    /// <summary>Let the node change the sync interval from validation loss (needs a validation function).</summary>
    public bool UseAdaptiveSync { get; init; }

    /// <summary>inactive, snapshot (default) or active: what this node offers after its last epoch while peers still train.</summary>
    public string CheckinModelOnTrainEnd { get; init; } = "snapshot";

    /// <summary>Relative weight in merges, 1 to 100.</summary>
    public int NodeWeightage { get; init; } = 1;

    /// <summary>mean (default), coordmedian, geomedian, trimmedmean[:f], krum[:f=F,m=M], fedavgm[:beta].</summary>
    public string MergeMethod { get; init; } = "mean";

    /// <summary>The epochs this program trains, for progress reports.</summary>
    public int TotalEpochs { get; init; }
}
