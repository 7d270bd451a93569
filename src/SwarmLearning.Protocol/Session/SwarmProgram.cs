using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Session;

/// <summary>Where a node's training stands, for progress displays: epochs done of the total, the round of the model it holds, its last validation.</summary>
public sealed record NodeProgress(string NodeId, int Epoch, int TotalEpochs, long Round, Evaluation? Evaluation, bool Done);

/// <summary>
/// The training loop of an ML program in a swarm, written once: train every batch of every epoch and call the swarm
/// callback's hooks where HPE's programs call them. The examples run it deployed (through `swarm run-sl`), and
/// `swarm simulate` runs it for every node in process: the same loop, the same callback, the same node session.
/// </summary>
public static class SwarmProgram
{
    /// <summary>Trains <paramref name="epochs"/> epochs of <paramref name="session"/> in the swarm; returns the final swarm model, loaded in the session.</summary>
    public static async Task<MergedModel> RunAsync(
        IMlSession session, SwarmCallbackSession swarm, int epochs, Action<NodeProgress>? progress, CancellationToken cancellationToken)
    {
        await swarm.OnTrainBeginAsync(cancellationToken);
        for (int epoch = 0; epoch < epochs && !swarm.TrainingOver; epoch++)
        {
            int batch = 0;
            while (batch < session.BatchesPerEpoch && !swarm.TrainingOver)
            {
                await session.TrainBatchAsync(cancellationToken);
                batch++;
                if (await swarm.OnBatchEndAsync(cancellationToken))
                {
                    progress?.Invoke(Progress(swarm, epochs, done: false));
                }
            }
            if (batch < session.BatchesPerEpoch)
            {
                break; // the swarm's training ended during this epoch: it does not count as done
            }
            swarm.OnEpochEnd();
            progress?.Invoke(Progress(swarm, epochs, done: false));
        }
        await swarm.OnTrainEndAsync(cancellationToken);
        progress?.Invoke(Progress(swarm, epochs, done: true));
        return swarm.Last!;
    }

    private static NodeProgress Progress(SwarmCallbackSession swarm, int epochs, bool done) =>
        new(swarm.NodeId ?? "", swarm.EpochsDone, epochs, swarm.Last?.Round ?? 0, swarm.LastEvaluation, done);
}
