using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

/// <summary>
/// The SL node's round logic: check in, wait (without polling) for quorum and merge, lead when the contract says so,
/// adopt merged models, offer late models, keep contributing after its epochs by the train-end policy.
/// Written only against the ports, so tests, the simulator and the networked host run the same code.
/// </summary>
/// <remarks>
/// Continuations run on the caller's synchronization context (no ConfigureAwait(false)): deterministic tests drive many
/// nodes on one thread with a fake clock.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The semaphore has no wait handle: nothing to dispose.")]
public sealed partial class SwarmNode(
    SwarmNodeOptions options, ILedger ledger, IParameterStore store, IParameterTransport transport,
    TimeProvider time, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    // (round, leader attempt) pairs this node has led: when the leader order wraps round to it again, it tries again.
    // The leader turns this node has taken (round, attempt, since): when the order wraps round to it again, or a rejected
    // round is merged again, it is a new turn.
    private readonly HashSet<(long Round, int Attempt, DateTimeOffset? Since)> _roundsLed = [];
    private MergedRound? _base;

    // The last model this node merged, once stored: its buffers hold the next merge (fresh memory costs page faults).
    private ModelState? _mergeBuffers;

    /// <summary>The node's options.</summary>
    public SwarmNodeOptions Options => options;

    /// <summary>The merged round whose model this node holds, if any.</summary>
    public MergedRound? Base => _base;

    /// <summary>ε spent by this node's differentially private check-ins (null without differential privacy); sent with each report.</summary>
    public double? PrivacySpent { get; set; }

    /// <summary>Registers the node with its model signature; throws <see cref="SwarmException"/> with the contract's reason if refused.</summary>
    public async Task RegisterAsync(ModelSignature signature, CancellationToken cancellationToken)
    {
        var outcome = await ledger.SubmitAsync(
            new RegisterNode(options.Contract, options.NodeId, signature, options.Parameters, options.CanLead, options.Address, options.Timings),
            cancellationToken);
        if (!outcome.Accepted)
        {
            throw new SwarmException(outcome.Reason!);
        }
        Log.Registered(_logger, options.NodeId, options.Contract);
    }

    /// <summary>
    /// on_train_begin: offers the initial model to round 0, or adopts the latest merged model if training is under way.
    /// The outcome names the model to load; it is in the store (nothing is parsed here: the caller loads it if it needs it).
    /// </summary>
    public async Task<SyncOutcome> InitialSyncAsync(ModelState initial, CancellationToken cancellationToken)
    {
        var hash = await store.PutAsync(initial, cancellationToken);
        return await SyncCoreAsync(hash, options.Weight, initial: true, cancellationToken);
    }

    /// <summary>A sync point: offers the local model and returns the merged model to load (or the final one when training is over).</summary>
    public async Task<SyncOutcome> SyncAsync(ModelState local, CancellationToken cancellationToken)
    {
        var hash = await store.PutAsync(local, cancellationToken);
        return await SyncCoreAsync(hash, options.Weight, initial: false, cancellationToken);
    }

    /// <summary>
    /// on_train_end: offers the last model (unless it is the merged model just loaded), then keeps checking in by the
    /// train-end policy until every node has finished; returns the final swarm model, the same on every node.
    /// </summary>
    public async Task<SyncOutcome> FinishAsync(ModelState last, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        var lastHash = await store.PutAsync(last, cancellationToken);
        if (trainedSinceSync)
        {
            var outcome = await SyncCoreAsync(lastHash, options.Weight, initial: false, cancellationToken);
            if (outcome.TrainingOver)
            {
                return outcome;
            }
        }
        await SubmitAsync(new FinishTraining(options.Contract, options.NodeId), cancellationToken);
        Log.Finished(_logger, options.NodeId, options.TrainEnd.ToString().ToLowerInvariant());
        while (true)
        {
            var (hash, weight) = options.TrainEnd switch
            {
                TrainEndPolicy.Inactive => (_base!.Hash, 0L),
                TrainEndPolicy.Active => (_base!.Hash, options.Weight),
                _ => (lastHash, options.Weight),
            };
            var outcome = await SyncCoreAsync(hash, weight, initial: false, cancellationToken);
            if (outcome.TrainingOver)
            {
                return outcome;
            }
        }
    }

    /// <summary>Reports progress after a merge (PERFDATA); a refusal is logged, never fatal. A value that is not a finite number is left out.</summary>
    public async Task ReportAsync(int epochsDone, Evaluation? evaluation, CancellationToken cancellationToken) =>
        await SubmitAsync(new ReportProgress(options.Contract, options.NodeId, _base?.Round ?? -1, epochsDone,
            options.TotalEpochs, Finite(evaluation?.Loss), Finite(evaluation?.Metric), Finite(PrivacySpent)), cancellationToken);

    private static double? Finite(double? value) => value is double v && double.IsFinite(v) ? v : null;

    /// <summary>Leaves the contract cleanly.</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken) =>
        await SubmitAsync(new LeaveContract(options.Contract, options.NodeId), cancellationToken);

    private async Task<SyncOutcome> SyncCoreAsync(ContentHash model, long weight, bool initial, CancellationToken cancellationToken)
    {
        while (true)
        {
            var state = await RequireContractAsync(cancellationToken);
            if (state.Status == ContractStatus.Completed)
            {
                return await TrainingOverAsync(state, cancellationToken);
            }
            long round = state.Round.Number;
            var latest = state.LatestMerged;
            if (latest is null && _base is not null)
            {
                _base = null; // the contract was reset: start over from round 0
            }
            bool rejected = _base is not null && state.MergedOf(_base.Round)?.Hash != _base.Hash;
            if (rejected && round <= _base!.Round)
            {
                // The merged model this node trained from was rejected by its audit (or lost): what it trained since is
                // built on it and is dropped. Wait for the round to be merged again (leading it if asked) and load that.
                Log.RolledBack(_logger, options.NodeId, _base.Hash.Short, _base.Round);
                if (await WaitForMergeAsync(_base.Round, null, cancellationToken) is { } remerged && await AdoptAsync(remerged, cancellationToken))
                {
                    return new SyncOutcome(remerged.Hash, remerged.Round, false);
                }
                continue;
            }
            if (latest is not null && (latest.Round != _base?.Round || latest.Hash != _base.Hash))
            {
                // Behind: the model was trained from an older base. Offer it late (never an initial model), then catch up.
                string what = "loading the latest merged model";
                if (!initial && _base is not null && !rejected)
                {
                    var late = await ledger.SubmitAsync(new CheckIn(options.Contract, options.NodeId, _base.Round + 1, _base.Hash, model, weight), cancellationToken);
                    what = late.Accepted ? "offered its model late, then loading the latest" : $"its late model was refused ({late.Code}); loading the latest";
                }
                Log.Behind(_logger, options.NodeId, _base?.Round ?? -1, latest.Round, what);
                if (await AdoptAsync(latest, cancellationToken))
                {
                    return new SyncOutcome(latest.Hash, latest.Round, false);
                }
                continue; // that merge was lost and is being redone: look again
            }
            var outcome = await ledger.SubmitAsync(
                new CheckIn(options.Contract, options.NodeId, round, latest?.Hash ?? ContentHash.None, model, weight), cancellationToken);
            if (!outcome.Accepted && outcome.Code is "stale-base" or "future-round" or "completed")
            {
                continue; // the round moved between reading and submitting: look again
            }
            if (!outcome.Accepted && outcome.Code != "late-initial")
            {
                throw new SwarmException($"node '{options.NodeId}' could not check in: {outcome.Reason}");
            }
            Log.CheckedIn(_logger, options.NodeId, model.Short, round);
            if (options.Byzantine is { } byzantine && outcome.Accepted)
            {
                await byzantine.AfterCheckInAsync(new CheckInTurn(state, options.NodeId, ledger, round, model, weight), cancellationToken);
            }
            // A merged model lost with its leader is merged again (AdoptAsync returns false): wait for the new one.
            var checkedInOn = latest?.Hash ?? ContentHash.None;
            for (var merged = await WaitForMergeAsync(round, checkedInOn, cancellationToken); merged is not null; merged = await WaitForMergeAsync(round, checkedInOn, cancellationToken))
            {
                if (await AdoptAsync(merged, cancellationToken))
                {
                    return new SyncOutcome(merged.Hash, merged.Round, false);
                }
            }
            // completed without merging this round, or the model it built on was rejected: look again
        }
    }

    private async Task<ContractState> RequireContractAsync(CancellationToken cancellationToken)
    {
        var state = await ledger.GetContractAsync(options.Contract, cancellationToken);
        if (state is null || !state.Nodes.TryGetValue(options.NodeId, out var me) || me.Status == NodeStatus.Left)
        {
            throw new SwarmException($"node '{options.NodeId}' is not registered in contract '{options.Contract}' (was it removed, or the contract reset?); restart the node to register again");
        }
        return state;
    }

    private async Task<SyncOutcome> TrainingOverAsync(ContractState state, CancellationToken cancellationToken)
    {
        var final = state.History.Last(m => m.Hash == state.FinalModel);
        if (!await AdoptAsync(final, cancellationToken))
        {
            throw new SwarmException($"the final model {final.Hash.Short} is no longer on the ledger");
        }
        Log.TrainingOver(_logger, options.NodeId, final.Hash.Short);
        return new SyncOutcome(final.Hash, final.Round, true);
    }

    private async Task<TxOutcome> SubmitAsync(ContractTx tx, CancellationToken cancellationToken)
    {
        var outcome = await ledger.SubmitAsync(tx, cancellationToken);
        if (!outcome.Accepted)
        {
            _logger.LogWarning("{Node}: {Transaction} refused: {Reason}", options.NodeId, tx.GetType().Name, outcome.Reason);
        }
        return outcome;
    }
}
