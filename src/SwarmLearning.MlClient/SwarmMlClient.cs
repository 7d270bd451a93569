using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using SwarmLearning.Core;
using SwarmLearning.MlChannel.Protocol;

namespace SwarmLearning.MlClient;

/// <summary>A merged model handed back by the node: a safetensors file to load.</summary>
public sealed record MergedModel(string Path, string Sha256, long Round, bool TrainingOver, int SyncEvery);

/// <summary>
/// The ML program's end of the ML channel (proto/ml.proto): gRPC over the Unix socket the SL node names in
/// SWARM_ML_ENDPOINT. Thin: parameters go over as files, the node does the rest. Refusals become
/// <see cref="SwarmException"/>s carrying the node's message.
/// </summary>
public sealed class SwarmMlClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly SwarmMl.SwarmMlClient _client;

    /// <summary>Connects to the node at <paramref name="endpoint"/> ("unix:/path/ml.sock"; default: $SWARM_ML_ENDPOINT).</summary>
    public SwarmMlClient(string? endpoint = null)
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
        _client = new SwarmMl.SwarmMlClient(_channel);
        WorkDirectory = Environment.GetEnvironmentVariable("SWARM_WORK_DIR") ?? System.IO.Path.GetTempPath();
    }

    /// <summary>The folder the program writes its model files in (SWARM_WORK_DIR).</summary>
    public string WorkDirectory { get; }

    /// <summary>Joins the training contract; the model's signature comes from <paramref name="modelPath"/>. Returns the batches until the first sync.</summary>
    public async Task<int> RegisterAsync(SwarmParameters parameters, string modelPath, CancellationToken cancellationToken = default)
    {
        var request = new RegisterRequest
        {
            ModelPath = modelPath,
            Parameters = new MlChannel.Protocol.SwarmParameters
            {
                TrainingContract = parameters.TrainingContract, MinPeers = parameters.MinPeers, SyncFrequency = parameters.SyncFrequency,
                MergeMethod = parameters.MergeMethod, UseAdaptiveSync = parameters.UseAdaptiveSync, NodeWeightage = parameters.NodeWeightage,
                CheckinModelOnTrainEnd = parameters.CheckinModelOnTrainEnd, TotalEpochs = parameters.TotalEpochs,
            },
        };
        var reply = await Call(() => _client.RegisterAsync(request, cancellationToken: cancellationToken).ResponseAsync);
        return reply.SyncEvery;
    }

    /// <summary>Offers the model in <paramref name="modelPath"/> and waits for the merged one.</summary>
    public async Task<MergedModel> SyncAsync(SyncKind kind, string modelPath, int epochsDone, bool trainedSinceSync = true, CancellationToken cancellationToken = default)
    {
        var request = new SyncRequest { Kind = kind, ModelPath = modelPath, EpochsDone = epochsDone, TrainedSinceSync = trainedSinceSync };
        var reply = await Call(() => _client.SyncAsync(request, cancellationToken: cancellationToken).ResponseAsync);
        return new MergedModel(reply.ModelPath, reply.ModelSha256, reply.Round, reply.TrainingOver, reply.SyncEvery);
    }

    /// <summary>Reports validation results after loading a merged model; returns the batches until the next sync.</summary>
    public async Task<int> ReportAsync(int epochsDone, Validation? validation, CancellationToken cancellationToken = default)
    {
        var request = new ReportRequest { EpochsDone = epochsDone };
        if (validation is not null)
        {
            request.Validation = new MlChannel.Protocol.Validation { Loss = validation.Loss, Metric = validation.Metric };
        }
        var reply = await Call(() => _client.ReportAsync(request, cancellationToken: cancellationToken).ResponseAsync);
        return reply.SyncEvery;
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
