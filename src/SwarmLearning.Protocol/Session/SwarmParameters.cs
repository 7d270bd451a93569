using SwarmLearning.Core.Privacy;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Session;

/// <summary>
/// The swarm callback's parameters (HPE's names; the same in C#, in Python and on the ML channel). Checked once, by
/// <see cref="Problem"/>, wherever they arrive.
/// </summary>
/// <param name="SyncFrequency">Local batches between syncs (the start value when adaptive).</param>
/// <param name="MinPeers">Quorum: a round merges only when this many nodes reached the sync point.</param>
public sealed record SwarmParameters(int SyncFrequency, int MinPeers)
{
    /// <summary>The largest nodeWeightage (HPE's range is 1 to 100).</summary>
    public const int MaxNodeWeightage = 100;

    /// <summary>Names the training; several can run on one network.</summary>
    public string TrainingContract { get; init; } = "default";

    /// <summary>Let the node change the sync interval from validation loss (needs a validation function).</summary>
    public bool UseAdaptiveSync { get; init; }

    /// <summary>inactive, snapshot (default) or active: what this node offers after its last epoch while peers still train.</summary>
    public string CheckinModelOnTrainEnd { get; init; } = "snapshot";

    /// <summary>Relative importance in merges, 1 to 100 (HPE's nodeWeightage).</summary>
    public int NodeWeightage { get; init; } = 1;

    /// <summary>
    /// The training samples this node holds; 0 when the program does not say (HPE's programs), which counts as 1. A node's
    /// merge weight is <see cref="NodeWeightage"/> × this, so by default the swarm weighs nodes by their data, as FedAvg does.
    /// </summary>
    public long SampleCount { get; init; }

    /// <summary>mean (default), coordmedian, geomedian, trimmedmean[:f], krum[:f=F,m=M], fedavgm[:beta].</summary>
    public string MergeMethod { get; init; } = "mean";

    /// <summary>Differential privacy: each update is clipped to this L2 norm (0: off; then the other two must be 0 as well).</summary>
    public double DpClipNorm { get; init; }

    /// <summary>Differential privacy: the Gaussian noise's standard deviation in units of <see cref="DpClipNorm"/>.</summary>
    public double DpNoiseMultiplier { get; init; }

    /// <summary>Differential privacy: δ of the (ε, δ) guarantee the node reports (default 1e-5 when clipping is on).</summary>
    public double DpDelta { get; init; }

    /// <summary>The differential-privacy settings, or null when off.</summary>
    public DifferentialPrivacy? Privacy => DpClipNorm == 0 && DpNoiseMultiplier == 0 && DpDelta == 0
        ? null
        : new DifferentialPrivacy(DpClipNorm, DpNoiseMultiplier, DpDelta == 0 ? 1e-5 : DpDelta);

    /// <summary>The epochs this program trains, for progress reports.</summary>
    public int TotalEpochs { get; init; }

    /// <summary>The parameters every node of the contract must share.</summary>
    public TrainingParameters Contract => new(MinPeers, SyncFrequency, string.IsNullOrWhiteSpace(MergeMethod) ? "mean" : MergeMethod, UseAdaptiveSync, Privacy);

    /// <summary>The node's weight in merges: nodeWeightage × sample count (docs/sl-node.md, "Node weight").</summary>
    public long MergeWeight => (long)NodeWeightage * Math.Max(1, SampleCount);

    /// <summary>The train-end policy (call <see cref="Problem"/> first).</summary>
    public TrainEndPolicy TrainEnd => Enum.Parse<TrainEndPolicy>(CheckinModelOnTrainEnd, ignoreCase: true);

    /// <summary>Returns null when the parameters can work, else what is wrong and how to fix it, in one sentence.</summary>
    public string? Problem()
    {
        if (Contract.Problem() is { } problem)
        {
            return problem;
        }
        if (string.IsNullOrWhiteSpace(TrainingContract))
        {
            return "trainingContract must be named";
        }
        if (NodeWeightage is < 1 or > MaxNodeWeightage)
        {
            return $"nodeWeightage must be between 1 and {MaxNodeWeightage} (got {NodeWeightage})";
        }
        if (SampleCount < 0)
        {
            return $"sampleCount cannot be negative (got {SampleCount}); give the number of training samples, or 0 to leave weights to nodeWeightage";
        }
        if (MergeWeight > int.MaxValue)
        {
            return $"nodeWeightage {NodeWeightage} × sampleCount {SampleCount} exceeds the largest merge weight ({int.MaxValue}); lower nodeWeightage";
        }
        if (!Enum.TryParse<TrainEndPolicy>(CheckinModelOnTrainEnd, ignoreCase: true, out var policy) || !Enum.IsDefined(policy) || int.TryParse(CheckinModelOnTrainEnd, out _))
        {
            return $"checkinModelOnTrainEnd must be inactive, snapshot or active (got '{CheckinModelOnTrainEnd}')";
        }
        if (TotalEpochs < 0)
        {
            return $"totalEpochs cannot be negative (got {TotalEpochs})";
        }
        return null;
    }
}
