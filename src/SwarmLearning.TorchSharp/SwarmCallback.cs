using SwarmLearning.MlClient;
using TorchSharp;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// The TorchSharp swarm callback: call its four hooks from your training loop and the model trains in the swarm.
/// The whole state dict (weights and buffers) goes to the SL node as a safetensors file at each sync; the merged model
/// comes back the same way and is loaded in place.
/// </summary>
/// <example>
/// <code>
/// using var swarm = new SwarmCallback(model, new SwarmParameters(SyncFrequency: 32, MinPeers: 2) { TotalEpochs = epochs }, Validate);
/// await swarm.OnTrainBeginAsync();
/// for (int epoch = 0; epoch &lt; epochs; epoch++)
/// {
///     foreach (var batch in batches) { Train(batch); await swarm.OnBatchEndAsync(); }
///     swarm.OnEpochEnd();
/// }
/// await swarm.OnTrainEndAsync();
/// </code>
/// </example>
public sealed class SwarmCallback : IDisposable
{
    private readonly SwarmCallbackSession _session;

    /// <summary>Pairs <paramref name="model"/> with the SL node named by SWARM_ML_ENDPOINT.</summary>
    /// <param name="model">The network whose state is shared.</param>
    /// <param name="parameters">syncFrequency, minPeers, trainingContract, useAdaptiveSync, checkinModelOnTrainEnd, nodeWeightage, mergeMethod, totalEpochs.</param>
    /// <param name="validate">Loss and metric on this node's validation data (adsValData), reported after each merge; needed for adaptive sync.</param>
    /// <param name="client">The channel to the node (default: from the environment).</param>
    public SwarmCallback(torch.nn.Module model, SwarmParameters parameters, Func<Validation?>? validate = null, SwarmMlClient? client = null) =>
        _session = new SwarmCallbackSession(parameters, () => StateDict.From(model), state => StateDict.Load(model, state), validate, client);

    /// <summary>True once the swarm's training is over.</summary>
    public bool TrainingOver => _session.TrainingOver;

    /// <summary>The last merged model loaded (its file, hash and round).</summary>
    public MergedModel? Last => _session.Last;

    /// <inheritdoc cref="SwarmCallbackSession.OnTrainBeginAsync"/>
    public Task OnTrainBeginAsync(CancellationToken cancellationToken = default) => _session.OnTrainBeginAsync(cancellationToken);

    /// <inheritdoc cref="SwarmCallbackSession.OnBatchEndAsync"/>
    public Task OnBatchEndAsync(CancellationToken cancellationToken = default) => _session.OnBatchEndAsync(cancellationToken);

    /// <inheritdoc cref="SwarmCallbackSession.OnEpochEnd"/>
    public void OnEpochEnd() => _session.OnEpochEnd();

    /// <inheritdoc cref="SwarmCallbackSession.OnTrainEndAsync"/>
    public Task OnTrainEndAsync(CancellationToken cancellationToken = default) => _session.OnTrainEndAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
