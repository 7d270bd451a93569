using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.MlChannel.Protocol;

namespace SwarmLearning.MlClient;

/// <summary>Validation results the program computes on its own validation data.</summary>
public sealed record Validation(double Loss, double Metric);

/// <summary>
/// The swarm callback's lifecycle for any framework: the framework's callback supplies how to read the model's whole
/// state and how to load one. on_train_begin: register and start from the swarm's common model; on_batch_end: sync
/// every syncFrequency batches (the node may change that number when adaptive); on_epoch_end: count; on_train_end:
/// final merge, the final swarm model loaded.
/// </summary>
public sealed class SwarmCallbackSession(
    SwarmParameters parameters, Func<ModelState> capture, Action<ModelState> load, Func<Validation?>? validate = null, SwarmMlClient? client = null) : IDisposable
{
    private readonly SwarmMlClient _client = client ?? new SwarmMlClient();
    private int _syncEvery = parameters.SyncFrequency;
    private int _sinceSync;

    /// <summary>Epochs finished so far.</summary>
    public int EpochsDone { get; private set; }

    /// <summary>True once the swarm's training is over: no more syncs.</summary>
    public bool TrainingOver { get; private set; }

    /// <summary>The last merged model loaded.</summary>
    public MergedModel? Last { get; private set; }

    private string LocalPath => Path.Combine(_client.WorkDirectory, "local.safetensors");

    /// <summary>on_train_begin: registers and loads the swarm's starting model (or the latest merged one when joining late).</summary>
    public async Task OnTrainBeginAsync(CancellationToken cancellationToken = default)
    {
        if (parameters.UseAdaptiveSync && validate is null)
        {
            throw new SwarmException("useAdaptiveSync needs validation data: give the callback a validation function");
        }
        Save();
        _syncEvery = await _client.RegisterAsync(parameters, LocalPath, cancellationToken);
        await SyncAsync(SyncKind.Initial, trainedSinceSync: false, cancellationToken);
    }

    /// <summary>on_batch_end: syncs when the interval is reached.</summary>
    public async Task OnBatchEndAsync(CancellationToken cancellationToken = default)
    {
        if (TrainingOver || ++_sinceSync < _syncEvery)
        {
            return;
        }
        Save();
        await SyncAsync(SyncKind.Periodic, trainedSinceSync: true, cancellationToken);
        await ReportAsync(cancellationToken);
    }

    /// <summary>on_epoch_end.</summary>
    public void OnEpochEnd() => EpochsDone++;

    /// <summary>on_train_end: the final merge; returns when every node has finished, with the final swarm model loaded.</summary>
    public async Task OnTrainEndAsync(CancellationToken cancellationToken = default)
    {
        if (!TrainingOver)
        {
            Save();
            await SyncAsync(SyncKind.Final, trainedSinceSync: _sinceSync > 0, cancellationToken);
        }
        await ReportAsync(cancellationToken);
    }

    private async Task SyncAsync(SyncKind kind, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        var merged = await _client.SyncAsync(kind, LocalPath, EpochsDone, trainedSinceSync, cancellationToken);
        load(SafetensorsReader.Load(merged.Path));
        _sinceSync = 0;
        _syncEvery = merged.SyncEvery;
        TrainingOver = merged.TrainingOver;
        Last = merged;
    }

    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        _syncEvery = await _client.ReportAsync(EpochsDone, validate?.Invoke(), cancellationToken);
    }

    private void Save() => SafetensorsWriter.Save(capture(), LocalPath);

    /// <inheritdoc />
    public void Dispose()
    {
        if (client is null)
        {
            _client.Dispose();
        }
    }
}
