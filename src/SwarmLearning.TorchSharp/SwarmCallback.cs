using SwarmLearning.MlClient;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using TorchSharp;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// The TorchSharp swarm callback: call its four hooks from your training loop (or let <see cref="SwarmProgram"/> do it)
/// and the model trains in the swarm. The whole state dict (weights and buffers) goes to the SL node at each sync; the
/// merged model comes back and is loaded in place.
/// </summary>
/// <example>
/// <code>
/// using var swarm = new SwarmCallback(model, new SwarmParameters(SyncFrequency: 32, MinPeers: 2) { TotalEpochs = epochs }, Validate);
/// await swarm.OnTrainBeginAsync();
/// for (int epoch = 0; epoch &lt; epochs &amp;&amp; !swarm.TrainingOver; epoch++)
/// {
///     foreach (var batch in batches) { Train(batch); await swarm.OnBatchEndAsync(); }
///     swarm.OnEpochEnd();
/// }
/// await swarm.OnTrainEndAsync();
/// </code>
/// </example>
public sealed class SwarmCallback : IDisposable
{
    /// <summary>Pairs a plain <paramref name="model"/> with its SL node (its state dict is shared as it is).</summary>
    /// <param name="model">The network whose state is shared.</param>
    /// <param name="parameters">syncFrequency, minPeers, trainingContract, useAdaptiveSync, checkinModelOnTrainEnd, nodeWeightage, sampleCount, mergeMethod, totalEpochs.</param>
    /// <param name="validate">Loss and metric on this node's validation data (adsValData), reported after each merge; needed for adaptive sync.</param>
    /// <param name="channel">The channel to the node (default: the ML channel named by SWARM_ML_ENDPOINT); disposed with the callback.</param>
    public SwarmCallback(torch.nn.Module model, SwarmParameters parameters, Func<Evaluation?>? validate = null, IMlChannel? channel = null)
        : this(new ModuleModel(model), parameters, validate, channel)
    {
    }

    /// <summary>
    /// Pairs a model that loads merged states itself (a <see cref="TorchSession"/>: its recipe's FedProx anchor, SCAFFOLD
    /// variates and optimizer reset then act on every merge) with its SL node. A <see cref="IMlSession"/> also gives its sample count.
    /// </summary>
    public SwarmCallback(ISwarmModel model, SwarmParameters parameters, Func<Evaluation?>? validate = null, IMlChannel? channel = null) =>
        Session = new SwarmCallbackSession(parameters, model, channel ?? new SwarmMlClient(), validate);

    /// <summary>The callback's lifecycle (what <see cref="SwarmProgram"/> drives).</summary>
    public SwarmCallbackSession Session { get; }

    /// <summary>True once the swarm's training is over.</summary>
    public bool TrainingOver => Session.TrainingOver;

    /// <summary>The last merged model loaded (its hash, round and file).</summary>
    public MergedModel? Last => Session.Last;

    /// <inheritdoc cref="SwarmCallbackSession.OnTrainBeginAsync"/>
    public Task OnTrainBeginAsync(CancellationToken cancellationToken = default) => Session.OnTrainBeginAsync(cancellationToken);

    /// <inheritdoc cref="SwarmCallbackSession.OnBatchEndAsync"/>
    public Task<bool> OnBatchEndAsync(CancellationToken cancellationToken = default) => Session.OnBatchEndAsync(cancellationToken);

    /// <inheritdoc cref="SwarmCallbackSession.OnEpochEnd"/>
    public void OnEpochEnd() => Session.OnEpochEnd();

    /// <inheritdoc cref="SwarmCallbackSession.OnTrainEndAsync"/>
    public Task OnTrainEndAsync(CancellationToken cancellationToken = default) => Session.OnTrainEndAsync(cancellationToken);

    /// <inheritdoc />
    public void Dispose() => Session.Dispose();

    private sealed class ModuleModel(torch.nn.Module model) : ISwarmModel
    {
        public Core.Model.ModelState GetParameters() => StateDict.From(model);

        public void LoadParameters(Core.Model.ModelState state) => StateDict.Load(model, state);
    }
}
