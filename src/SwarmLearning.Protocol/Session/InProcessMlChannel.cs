using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Session;

/// <summary>
/// The ML channel without a socket: the program's calls go straight to its node's <see cref="NodeSession"/>, and the
/// merged model is read from the node's store. `swarm simulate` and the tests run every node this way.
/// </summary>
public sealed class InProcessMlChannel(NodeSession node) : IMlChannel
{
    /// <summary>The node's session.</summary>
    public NodeSession Node => node;

    /// <inheritdoc />
    public Task<SessionRegistration> RegisterAsync(SwarmParameters parameters, ModelState model, CancellationToken cancellationToken) =>
        node.RegisterAsync(parameters, model.Signature, cancellationToken);

    /// <inheritdoc />
    public async Task<(MergedModel Merged, ModelState Model)> SyncAsync(SyncKind kind, ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        var sync = await node.SyncAsync(kind, model, epochsDone, trainedSinceSync, cancellationToken);
        var merged = await node.Context.Store.GetAsync(sync.Model, cancellationToken);
        return (new MergedModel(sync.Model.Hex, sync.Round, sync.TrainingOver, sync.SyncEvery), merged);
    }

    /// <inheritdoc />
    public Task<int> ReportAsync(int epochsDone, Evaluation? evaluation, CancellationToken cancellationToken) =>
        node.ReportAsync(epochsDone, evaluation, cancellationToken);

    /// <summary>Nothing to close: the node session belongs to the node, and outlives its program.</summary>
    public void Dispose()
    {
    }
}
