using SwarmLearning.Core;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Session;

/// <summary>
/// The swarm callback's lifecycle on the program's side, for any framework and either channel: on_train_begin registers
/// and starts from the swarm's common model; on_batch_end syncs every syncFrequency batches (the node may change that
/// number when adaptive) and reports validation; on_epoch_end counts; on_train_end makes the final merge and loads the
/// final swarm model. Models go through <see cref="ISwarmModel"/>, so what a model does on load happens here too.
/// </summary>
public sealed class SwarmCallbackSession : IDisposable
{
    private readonly SwarmParameters _parameters;
    private readonly ISwarmModel _model;
    private readonly IMlChannel _channel;
    private readonly Func<Evaluation?>? _validate;
    private int _syncEvery;
    private int _sinceSync;

    /// <summary>Pairs <paramref name="model"/> with its node through <paramref name="channel"/>.</summary>
    /// <param name="parameters">The swarm parameters; a sample count of 0 is taken from <paramref name="model"/> when it is an <see cref="IMlSession"/> that knows its own.</param>
    /// <param name="model">The model whose whole state is shared.</param>
    /// <param name="channel">The node; owned: disposed with this session.</param>
    /// <param name="validate">Loss and metric on the node's validation data, reported after each merge; needed for adaptive sync.</param>
    public SwarmCallbackSession(SwarmParameters parameters, ISwarmModel model, IMlChannel channel, Func<Evaluation?>? validate = null)
    {
        _parameters = parameters.SampleCount == 0 && model is IMlSession { SampleCount: > 0 } session ? parameters with { SampleCount = session.SampleCount } : parameters;
        _model = model;
        _channel = channel;
        _validate = validate;
        _syncEvery = parameters.SyncFrequency;
    }

    /// <summary>The parameters as registered.</summary>
    public SwarmParameters Parameters => _parameters;

    /// <summary>The node's name, once registered.</summary>
    public string? NodeId { get; private set; }

    /// <summary>Epochs finished so far.</summary>
    public int EpochsDone { get; private set; }

    /// <summary>True once the swarm's training is over: no more syncs.</summary>
    public bool TrainingOver { get; private set; }

    /// <summary>The last merged model loaded.</summary>
    public MergedModel? Last { get; private set; }

    /// <summary>The last validation reported.</summary>
    public Evaluation? LastEvaluation { get; private set; }

    /// <summary>The number of syncs so far.</summary>
    public int Syncs { get; private set; }

    /// <summary>on_train_begin: registers and loads the swarm's starting model (or the latest merged one when joining late).</summary>
    public async Task OnTrainBeginAsync(CancellationToken cancellationToken = default)
    {
        if (_parameters.UseAdaptiveSync && _validate is null)
        {
            throw new SwarmException("useAdaptiveSync needs validation data: give the callback a validation function");
        }
        var initial = _model.GetParameters();
        var registration = await _channel.RegisterAsync(_parameters, initial, cancellationToken);
        NodeId = registration.NodeId;
        _syncEvery = registration.SyncEvery;
        await SyncAsync(SyncKind.Initial, initial, trainedSinceSync: false, cancellationToken);
    }

    /// <summary>on_batch_end: syncs when the interval is reached; returns true when it did.</summary>
    public async Task<bool> OnBatchEndAsync(CancellationToken cancellationToken = default)
    {
        if (TrainingOver || ++_sinceSync < _syncEvery)
        {
            return false;
        }
        await SyncAsync(SyncKind.Periodic, _model.GetParameters(), trainedSinceSync: true, cancellationToken);
        await ReportAsync(cancellationToken);
        return true;
    }

    /// <summary>on_epoch_end.</summary>
    public void OnEpochEnd() => EpochsDone++;

    /// <summary>
    /// on_train_end: the final merge; returns when every node has finished, with the final swarm model loaded. When a
    /// sync already ended the training (and reported), there is nothing left to do.
    /// </summary>
    public async Task OnTrainEndAsync(CancellationToken cancellationToken = default)
    {
        if (TrainingOver)
        {
            return;
        }
        await SyncAsync(SyncKind.Final, _model.GetParameters(), trainedSinceSync: _sinceSync > 0, cancellationToken);
        await ReportAsync(cancellationToken);
    }

    private async Task SyncAsync(SyncKind kind, Core.Model.ModelState local, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        var (merged, model) = await _channel.SyncAsync(kind, local, EpochsDone, trainedSinceSync, cancellationToken);
        _model.LoadParameters(model);
        _sinceSync = 0;
        _syncEvery = merged.SyncEvery;
        TrainingOver = merged.TrainingOver;
        Last = merged;
        Syncs++;
    }

    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        LastEvaluation = _validate?.Invoke();
        _syncEvery = await _channel.ReportAsync(EpochsDone, LastEvaluation, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
