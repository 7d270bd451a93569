using Grpc.Core;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.MlChannel.Protocol;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Node;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Node.MlChannel;

/// <summary>
/// The ML channel's server side: turns the program's Register/Sync/Report calls into the round engine's
/// (<see cref="SwarmNode"/>) steps. One program per node, so calls are served one at a time.
/// </summary>
internal sealed partial class MlChannelService(SlNodeContext context, MlSessionEvents events) : SwarmMl.SwarmMlBase, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger = context.Logs.CreateLogger<MlChannelService>();
    private SwarmNode? _node;
    private AdaptiveSyncInterval? _interval;

    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext call) => Serve(call, async cancellationToken =>
    {
        var p = request.Parameters ?? throw Invalid("Register needs the swarm parameters");
        var parameters = new TrainingParameters(p.MinPeers, p.SyncFrequency, Or(p.MergeMethod, "mean"), p.UseAdaptiveSync);
        if (parameters.Problem() is { } problem)
        {
            throw Invalid(problem);
        }
        if (p.NodeWeightage is < 0 or > 100)
        {
            throw Invalid($"nodeWeightage must be between 1 and 100 (got {p.NodeWeightage})");
        }
        if (!Enum.TryParse<TrainEndPolicy>(Or(p.CheckinModelOnTrainEnd, "snapshot"), ignoreCase: true, out var trainEnd) || !Enum.IsDefined(trainEnd))
        {
            throw Invalid($"checkinModelOnTrainEnd must be inactive, snapshot or active (got '{p.CheckinModelOnTrainEnd}')");
        }
        var model = Load(request.ModelPath);
        var options = new SwarmNodeOptions(context.NodeId, Or(p.TrainingContract, "default"), parameters)
        {
            Weightage = p.NodeWeightage == 0 ? 1 : p.NodeWeightage,
            CanLead = context.CanLead,
            TrainEnd = trainEnd,
            Address = context.Address,
            Timings = context.Timings,
            RetryDelay = context.RetryDelay,
            TotalEpochs = p.TotalEpochs,
        };
        var node = new SwarmNode(options, context.Ledger, context.Store, context.Transport, context.Time, context.Logs.CreateLogger<SwarmNode>());
        await node.RegisterAsync(model.Signature, cancellationToken);
        context.Limits.Expect(model.Signature); // registered: the contract holds this layout, so no file of it is larger
        _node = node;
        _interval = new AdaptiveSyncInterval(parameters.SyncFrequency, parameters.UseAdaptiveSync);
        LogRegistered(_logger, context.NodeId, options.Contract, parameters.MinPeers, parameters.SyncFrequency, parameters.MergeMethod, model.Signature.Tensors.Count);
        events.Registered(options);
        return new RegisterReply { NodeId = context.NodeId, Contract = options.Contract, SyncEvery = _interval.Current };
    });

    public override Task<SyncReply> Sync(SyncRequest request, ServerCallContext call) => Serve(call, async cancellationToken =>
    {
        var node = _node ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "Register first: the node has not joined a training contract"));
        var model = Load(request.ModelPath);
        var (merged, round, over) = request.Kind switch
        {
            SyncKind.Initial => Unpack(await node.InitialSyncAsync(model, cancellationToken)),
            SyncKind.Periodic => Unpack(await node.SyncAsync(model, cancellationToken)),
            SyncKind.Final => (await node.FinishAsync(model, request.TrainedSinceSync, cancellationToken), node.Base?.Round ?? 0, true),
            _ => throw Invalid($"unknown sync kind {request.Kind}: INITIAL, PERIODIC or FINAL"),
        };
        var hash = node.Base?.Hash ?? await context.Store.PutAsync(merged, cancellationToken);
        events.Synced(request.Kind, round, hash, over, request.EpochsDone);
        return new SyncReply { ModelPath = context.Store.PathOf(hash), ModelSha256 = hash.Hex, Round = round, TrainingOver = over, SyncEvery = _interval!.Current };
    });

    public override Task<ReportReply> Report(ReportRequest request, ServerCallContext call) => Serve(call, async cancellationToken =>
    {
        var node = _node ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "Register first: the node has not joined a training contract"));
        var evaluation = request.Validation is { } v ? new Evaluation(v.Loss, v.Metric) : null;
        if (evaluation is not null)
        {
            _interval!.Observe(evaluation.Loss);
        }
        await node.ReportAsync(request.EpochsDone, evaluation, cancellationToken);
        events.Reported(request.EpochsDone, evaluation);
        return new ReportReply { SyncEvery = _interval!.Current };
    });

    private static (ModelState Model, long Round, bool Over) Unpack(SyncOutcome outcome) => (outcome.Model, outcome.Round, outcome.TrainingOver);

    private static ModelState Load(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw Invalid("model_path is empty: save the model as safetensors in the work folder (SWARM_WORK_DIR) and pass its path");
        }
        try
        {
            return SafetensorsReader.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ModelFileException)
        {
            throw Invalid($"cannot read the model file {path}: {e.Message}");
        }
    }

    private async Task<T> Serve<T>(ServerCallContext call, Func<CancellationToken, Task<T>> action)
    {
        await _gate.WaitAsync(call.CancellationToken);
        try
        {
            return await action(call.CancellationToken);
        }
        catch (SwarmException e)
        {
            LogRefused(_logger, call.Method, e.Message);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static string Or(string value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value;

    [LoggerMessage(Level = LogLevel.Information, Message = "{Node}: the ML program registered for contract '{Contract}' (minPeers {MinPeers}, syncFrequency {SyncFrequency}, merge {Merge}, {Tensors} tensors)")]
    private static partial void LogRegistered(ILogger logger, string node, string contract, int minPeers, int syncFrequency, string merge, int tensors);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string reason);
}
