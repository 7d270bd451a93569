using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.MlClient;
using SwarmLearning.Node.Files;
using SwarmLearning.Node.MlChannel;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Testing;

/// <summary>The two ways a program reaches its node's session: in process, and over the real ML channel (gRPC on a Unix socket, models as files).</summary>
internal static class MlChannels
{
    public const string InProcess = "in-process";
    public const string Grpc = "grpc";

    /// <summary>Opens a channel of <paramref name="kind"/> to <paramref name="session"/>; the host (if any) is stopped by disposing it.</summary>
    public static async Task<(IMlChannel Channel, IAsyncDisposable Host)> OpenAsync(string kind, NodeSession session, FileParameterStore store, string folder)
    {
        if (kind == InProcess)
        {
            return (new InProcessMlChannel(session), new Nothing());
        }
        Directory.CreateDirectory(folder);
        string socket = Path.Combine(folder, "ml.sock");
        var host = await MlChannelHost.StartAsync(socket, session, store, new MlSessionEvents(NullLogger.Instance), NullLoggerFactory.Instance, CancellationToken.None);
        return (new SwarmMlClient("unix:" + socket, folder), host);
    }

    private sealed class Nothing : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
