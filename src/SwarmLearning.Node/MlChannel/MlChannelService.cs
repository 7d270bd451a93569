using Grpc.Core;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.MlChannel.Protocol;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using SyncKind = SwarmLearning.Protocol.Session.SyncKind;
using SwarmParameters = SwarmLearning.Protocol.Session.SwarmParameters;

namespace SwarmLearning.Node.MlChannel;

/// <summary>
/// The ML channel's server side: a thin gRPC adapter over the node's <see cref="NodeSession"/>. It reads the program's
/// model file, and hands the merged model back as the path of the node's own file (never parsed here).
/// </summary>
internal sealed partial class MlChannelService(NodeSession session, FileParameterStore store, MlSessionEvents events, ILoggerFactory logs) : SwarmMl.SwarmMlBase
{
    private readonly ILogger _logger = logs.CreateLogger<MlChannelService>();

    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext call) => Serve(call, async cancellationToken =>
    {
        var p = request.Parameters ?? throw new InvalidMlRequestException("Register needs the swarm parameters");
        var parameters = new SwarmParameters(p.SyncFrequency, p.MinPeers)
        {
            TrainingContract = Or(p.TrainingContract, "default"), MergeMethod = Or(p.MergeMethod, "mean"), UseAdaptiveSync = p.UseAdaptiveSync,
            NodeWeightage = p.NodeWeightage == 0 ? 1 : p.NodeWeightage, CheckinModelOnTrainEnd = Or(p.CheckinModelOnTrainEnd, "snapshot"),
            TotalEpochs = p.TotalEpochs, SampleCount = p.SampleCount,
            DpClipNorm = p.DpClipNorm, DpNoiseMultiplier = p.DpNoiseMultiplier, DpDelta = p.DpDelta,
        };
        var registration = await session.RegisterAsync(parameters, Load(request.ModelPath).Signature, cancellationToken);
        events.Registered(registration.Contract);
        return new RegisterReply { NodeId = registration.NodeId, Contract = registration.Contract, SyncEvery = registration.SyncEvery };
    });

    public override Task<SyncReply> Sync(SyncRequest request, ServerCallContext call) => Serve(call, async cancellationToken =>
    {
        var sync = await session.SyncAsync((SyncKind)request.Kind, Load(request.ModelPath), request.EpochsDone, request.TrainedSinceSync, cancellationToken);
        events.Synced((SyncKind)request.Kind, sync.Round, sync.Model, sync.TrainingOver, request.EpochsDone);
        return new SyncReply
        {
            ModelPath = store.PathOf(sync.Model), ModelSha256 = sync.Model.Hex, Round = sync.Round, TrainingOver = sync.TrainingOver, SyncEvery = sync.SyncEvery,
        };
    });

    public override Task<ReportReply> Report(ReportRequest request, ServerCallContext call) => Serve(call, async cancellationToken =>
    {
        var evaluation = request.Validation is { } v ? new Evaluation(v.Loss, v.Metric) : null;
        int syncEvery = await session.ReportAsync(request.EpochsDone, evaluation, cancellationToken);
        events.Reported(request.EpochsDone, evaluation);
        return new ReportReply { SyncEvery = syncEvery };
    });

    private static ModelState Load(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidMlRequestException("model_path is empty: save the model as safetensors in the work folder (SWARM_WORK_DIR) and pass its path");
        }
        try
        {
            return SafetensorsReader.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ModelFileException)
        {
            throw new InvalidMlRequestException($"cannot read the model file {path}: {e.Message}");
        }
    }

    private async Task<T> Serve<T>(ServerCallContext call, Func<CancellationToken, Task<T>> action)
    {
        try
        {
            return await action(call.CancellationToken);
        }
        catch (InvalidMlRequestException e)
        {
            LogRefused(_logger, call.Method, e.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (SwarmException e)
        {
            LogRefused(_logger, call.Method, e.Message);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    private static string Or(string value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value;

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string reason);
}
