using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Protocol.Node;

public sealed partial class SwarmNode
{
    /// <summary>
    /// Waits until <paramref name="round"/> is merged (leading it if the contract says so); null if the training completed
    /// without it, or if the merged model its check-in built on (<paramref name="basedOn"/>) was rejected meanwhile.
    /// </summary>
    private async Task<MergedRound?> WaitForMergeAsync(long round, ContentHash? basedOn, CancellationToken cancellationToken)
    {
        var state = await RequireContractAsync(cancellationToken);
        int lastReportedCount = -1;
        while (true)
        {
            if (state.MergedOf(round) is { } merged)
            {
                return merged;
            }
            if (state.Status == ContractStatus.Completed)
            {
                return null;
            }
            if (basedOn is { } hash && round > 0 && state.MergedOf(round - 1)?.Hash != hash)
            {
                return null; // the model this check-in built on is gone: its check-in is void
            }
            if (state.Round.Number == round && state.Round.CurrentLeader == options.NodeId && _roundsLed.Add((round, state.Round.LeaderIndex, state.Round.LeaderSince)))
            {
                await LeadMergeAsync(state, cancellationToken);
                state = await RequireContractAsync(cancellationToken);
                continue;
            }
            if (state.Round.Phase == RoundPhase.Collecting && state.Round.CheckIns.Count != lastReportedCount)
            {
                lastReportedCount = state.Round.CheckIns.Count;
                Log.Waiting(_logger, options.NodeId, state.Round.Number, lastReportedCount, state.Quorum());
            }
            state = await NextStateAsync(state, cancellationToken);
        }
    }

    /// <summary>
    /// Returns a newer state: waits for the ledger to change, or, when the round has a deadline (wait window, leader
    /// timeout), for that deadline, then submits a tick so block time reaches it. Never polls.
    /// </summary>
    private async Task<ContractState> NextStateAsync(ContractState state, CancellationToken cancellationToken)
    {
        var deadline = state.NextDeadline;
        if (deadline is null)
        {
            return await ledger.WaitForChangeAsync(options.Contract, state.Version, cancellationToken);
        }
        var delay = deadline.Value - time.GetUtcNow();
        if (delay > TimeSpan.Zero && await ChangedWithinAsync(state.Version, delay, cancellationToken) is { } changed)
        {
            return changed;
        }
        await ledger.SubmitAsync(new Tick(options.Contract), cancellationToken);
        var after = await RequireContractAsync(cancellationToken);
        if (after.Version != state.Version)
        {
            return after;
        }
        // Our clock ran ahead of block time: give it a moment rather than ticking in a loop.
        return await ChangedWithinAsync(state.Version, options.RetryDelay, cancellationToken) ?? after;
    }

    /// <summary>Returns the changed contract, or null if nothing changed within <paramref name="delay"/>.</summary>
    private async Task<ContractState?> ChangedWithinAsync(long version, TimeSpan delay, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var change = ledger.WaitForChangeAsync(options.Contract, version, linked.Token);
        var timer = Task.Delay(delay, time, linked.Token);
        var first = await Task.WhenAny(change, timer);
        // Cancel synchronously so the abandoned wait is gone before we go on (keeps single-threaded tests deterministic).
#pragma warning disable CA1849
        linked.Cancel();
#pragma warning restore CA1849
        cancellationToken.ThrowIfCancellationRequested();
        return first == change && change.IsCompletedSuccessfully ? change.Result : null;
    }
}
