using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using Wire = SwarmLearning.MlChannel.Protocol;

namespace SwarmLearning.MlClient;

/// <summary>
/// The ML program's end of the ML channel (proto/ml.proto): gRPC over the Unix socket the SL node names in
/// SWARM_ML_ENDPOINT. Thin: models go over as safetensors files in SWARM_WORK_DIR, the node's <see cref="NodeSession"/>
/// does the rest. Refusals become <see cref="SwarmException"/>s carrying the node's message.
/// </summary>
public sealed class SwarmMlClient : IMlChannel
{
    private readonly GrpcChannel _channel;
    private readonly Wire.SwarmMl.SwarmMlClient _client;
    private ModelState? _registered; // written at registration; the initial sync offers the same object, so it is not written twice

    /// <summary>Connects to the node at <paramref name="endpoint"/> ("unix:/path/ml.sock"; default: $SWARM_ML_ENDPOINT).</summary>
    /// <param name="endpoint">The node's ML channel.</param>
    /// <param name="workDirectory">Where the program writes its model file (default: $SWARM_WORK_DIR, else the temp folder).</param>
    public SwarmMlClient(string? endpoint = null, string? workDirectory = null)
    {
        endpoint ??= Environment.GetEnvironmentVariable("SWARM_ML_ENDPOINT")
            ?? throw new SwarmException("SWARM_ML_ENDPOINT is not set: run this program through its SL node (swarm run-sl --ml-cmd ...), or set it to the node's unix:/path/ml.sock");
        if (!endpoint.StartsWith("unix:", StringComparison.Ordinal))
        {
            throw new SwarmException($"SWARM_ML_ENDPOINT '{endpoint}' is not a unix: address; the ML channel is a Unix socket (unix:/path/ml.sock)");
        }
        string socket = endpoint["unix:".Length..];
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await unix.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                    return new NetworkStream(unix, ownsSocket: true);
                }
                catch
                {
                    unix.Dispose();
                    throw;
                }
            },
        };
        _channel = GrpcChannel.ForAddress("http://ml-channel", new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
        _client = new Wire.SwarmMl.SwarmMlClient(_channel);
        WorkDirectory = workDirectory ?? Environment.GetEnvironmentVariable("SWARM_WORK_DIR") ?? Path.GetTempPath();
    }

    /// <summary>The folder the program writes its model files in (SWARM_WORK_DIR).</summary>
    public string WorkDirectory { get; }

    private string LocalPath => Path.Combine(WorkDirectory, "local.safetensors");

    /// <inheritdoc />
    public async Task<SessionRegistration> RegisterAsync(SwarmParameters parameters, ModelState model, CancellationToken cancellationToken)
    {
        var request = new Wire.RegisterRequest
        {
            ModelPath = Save(model, written: false),
            Parameters = new Wire.SwarmParameters
            {
                TrainingContract = parameters.TrainingContract, MinPeers = parameters.MinPeers, SyncFrequency = parameters.SyncFrequency,
                MergeMethod = parameters.MergeMethod, UseAdaptiveSync = parameters.UseAdaptiveSync, NodeWeightage = parameters.NodeWeightage,
                CheckinModelOnTrainEnd = parameters.CheckinModelOnTrainEnd, TotalEpochs = parameters.TotalEpochs, SampleCount = parameters.SampleCount,
                DpClipNorm = parameters.DpClipNorm, DpNoiseMultiplier = parameters.DpNoiseMultiplier, DpDelta = parameters.DpDelta,
            },
        };
        var reply = await Call(() => _client.RegisterAsync(request, cancellationToken: cancellationToken).ResponseAsync);
        _registered = model;
        return new SessionRegistration(reply.NodeId, reply.Contract, reply.SyncEvery);
    }

    /// <inheritdoc />
    public async Task<(MergedModel Merged, ModelState Model)> SyncAsync(SyncKind kind, ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        var request = new Wire.SyncRequest { Kind = (Wire.SyncKind)kind, ModelPath = Save(model, written: ReferenceEquals(model, _registered)), EpochsDone = epochsDone, TrainedSinceSync = trainedSinceSync };
        var reply = await Call(() => _client.SyncAsync(request, cancellationToken: cancellationToken).ResponseAsync);
        var merged = new MergedModel(reply.ModelSha256, reply.Round, reply.TrainingOver, reply.SyncEvery, reply.ModelPath);
        return (merged, SafetensorsReader.Load(reply.ModelPath));
    }

    /// <inheritdoc />
    public async Task<int> ReportAsync(int epochsDone, Evaluation? evaluation, CancellationToken cancellationToken)
    {
        var request = new Wire.ReportRequest { EpochsDone = epochsDone };
        if (evaluation is not null)
        {
            request.Validation = new Wire.Validation { Loss = evaluation.Loss, Metric = evaluation.Metric };
        }
        var reply = await Call(() => _client.ReportAsync(request, cancellationToken: cancellationToken).ResponseAsync);
        return reply.SyncEvery;
    }

    private string Save(ModelState model, bool written)
    {
        _registered = null;
        if (!written)
        {
            SafetensorsWriter.Save(model, LocalPath);
        }
        return LocalPath;
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument)
        {
            throw new SwarmException(e.Status.Detail);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
        {
            throw new SwarmException($"the SL node is not reachable on its ML channel ({e.Status.Detail}): is `swarm run-sl` running?");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
