using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

/// <summary>Where a node's training stands, for progress displays.</summary>
public sealed record NodeProgress(string NodeId, int Epoch, int TotalEpochs, long Round, Evaluation? Evaluation, bool Done);

/// <summary>
/// The swarm callback's lifecycle as a loop: on_train_begin (initial sync), on_batch_end (sync every syncFrequency
/// batches, adaptive if asked), on_epoch_end (progress), on_train_end (final merge; the final model is loaded).
/// </summary>
public static class SwarmTrainingLoop
{
    /// <summary>Trains <paramref name="epochs"/> epochs in the swarm and returns the final swarm model, loaded into the session.</summary>
    public static async Task<ModelState> RunAsync(
        SwarmNode node, IMlSession session, int epochs, CancellationToken cancellationToken, IProgress<NodeProgress>? progress = null)
    {
        var parameters = node.Options.Parameters;
        var model = session.GetParameters();
        await node.RegisterAsync(model.Signature, cancellationToken);
        var start = await node.InitialSyncAsync(model, cancellationToken);
        session.LoadParameters(start.Model);
        if (start.TrainingOver)
        {
            return start.Model;
        }
        var interval = new AdaptiveSyncInterval(parameters.SyncFrequency, parameters.UseAdaptiveSync);
        int sinceSync = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int batch = 0; batch < session.BatchesPerEpoch; batch++)
            {
                await session.TrainBatchAsync(cancellationToken);
                if (++sinceSync < interval.Current)
                {
                    continue;
                }
                sinceSync = 0;
                var outcome = await node.SyncAsync(session.GetParameters(), cancellationToken);
                session.LoadParameters(outcome.Model);
                if (outcome.TrainingOver)
                {
                    progress?.Report(new NodeProgress(node.Options.NodeId, epoch, epochs, outcome.Round, null, true));
                    return outcome.Model;
                }
                var evaluation = session.Evaluate();
                if (evaluation is not null)
                {
                    interval.Observe(evaluation.Loss);
                }
                await node.ReportAsync(epoch, evaluation, cancellationToken);
                progress?.Report(new NodeProgress(node.Options.NodeId, epoch, epochs, outcome.Round, evaluation, false));
            }
        }
        var final = await node.FinishAsync(session.GetParameters(), trainedSinceSync: sinceSync > 0, cancellationToken);
        session.LoadParameters(final);
        await node.ReportAsync(epochs, session.Evaluate(), cancellationToken);
        progress?.Report(new NodeProgress(node.Options.NodeId, epochs, epochs, node.Base?.Round ?? 0, null, true));
        return final;
    }
}
