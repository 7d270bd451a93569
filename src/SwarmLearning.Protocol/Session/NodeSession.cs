using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Core.Privacy;
using SwarmLearning.Protocol.Node;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Session;

/// <summary>The program registered: its node's name, the contract, and the batches until the first sync.</summary>
public sealed record SessionRegistration(string NodeId, string Contract, int SyncEvery);

/// <summary>A sync's answer: the merged model to load (a file in the node's store), its round, whether training is over, and the batches until the next sync.</summary>
public sealed record SessionSync(ContentHash Model, long Round, bool TrainingOver, int SyncEvery);

/// <summary>
/// The node's side of one ML program's training: the one place that decides what happens to a checked-in model and to
/// a merged one. It checks the program's parameters, registers it in the contract (one <see cref="SwarmNode"/> per
/// program), turns each sync (initial, periodic, final) into the round engine's steps, keeps the adaptive sync interval
/// and reports progress. The SL node serves it over the ML channel (gRPC on a Unix socket); `swarm simulate` and the
/// tests call it in process (<see cref="InProcessMlChannel"/>). One program per node: calls are served one at a time.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The gate is a SemaphoreSlim with no wait handle; a call cut off at shutdown must still release it.")]
public sealed partial class NodeSession(NodeSessionContext context)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger _logger = context.Logs.CreateLogger<NodeSession>();
    private SwarmNode? _node;
    private ModelSignature? _signature;
    private AdaptiveSyncInterval? _interval;
    private PrivateReleases? _privacy;
    private ContentHash? _lastMerged; // the merged model last handed to the program: what its update is measured from
    private CancellationTokenSource? _duties; // the registered node's background duties (audits)

    /// <summary>The node's context.</summary>
    public NodeSessionContext Context => context;

    /// <summary>The round engine, once the program has registered.</summary>
    public SwarmNode? Node => _node;

    /// <summary>
    /// Joins the training contract with <paramref name="parameters"/> and the model layout <paramref name="signature"/>.
    /// Throws <see cref="InvalidMlRequestException"/> for parameters that cannot work, <see cref="SwarmException"/> when the contract refuses.
    /// </summary>
    public Task<SessionRegistration> RegisterAsync(SwarmParameters parameters, ModelSignature signature, CancellationToken cancellationToken) => Serve(async () =>
    {
        if (parameters.Problem() is { } problem)
        {
            throw new InvalidMlRequestException(problem);
        }
        if (signature.Tensors.Count == 0)
        {
            throw new InvalidMlRequestException("the model has no tensors: save the model's whole state (weights and buffers)");
        }
        if (parameters.Privacy is not null && UpdatePrivatizer.Unsupported(signature) is { } unsupported)
        {
            throw new InvalidMlRequestException(unsupported);
        }
        if (parameters.Privacy is not null && parameters.UseAdaptiveSync)
        {
            throw new InvalidMlRequestException("useAdaptiveSync cannot be used with differential privacy: when and how often a node checks in would follow its validation loss, outside the privacy budget");
        }
        var options = new SwarmNodeOptions(context.NodeId, parameters.TrainingContract, parameters.Contract)
        {
            Weight = parameters.MergeWeight,
            CanLead = context.CanLead,
            TrainEnd = parameters.TrainEnd,
            Address = context.Address,
            Timings = context.Timings,
            RetryDelay = context.RetryDelay,
            TotalEpochs = parameters.TotalEpochs,
            Byzantine = context.Byzantine,
        };
        var node = new SwarmNode(options, context.Ledger, context.Store, context.Transport, context.Time, context.Logs.CreateLogger<SwarmNode>());
        await node.RegisterAsync(signature, cancellationToken);
        context.OnRegistered?.Invoke(options.Contract, signature);
        (_node, _signature) = (node, signature);
        StartDuties(node);
        _lastMerged = null; // a new registration starts from the swarm's model again (INITIAL)
        _interval = new AdaptiveSyncInterval(parameters.SyncFrequency, parameters.UseAdaptiveSync);
        _privacy = parameters.Privacy is { } privacy ? await PrivacyAfterRegistering(privacy, options.Contract, cancellationToken) : null;
        LogRegistered(_logger, context.NodeId, options.Contract, parameters.MinPeers, parameters.SyncFrequency, options.Parameters.MergeMethod,
            options.Weight, signature.Tensors.Count);
        return new SessionRegistration(context.NodeId, options.Contract, _interval.Current);
    }, cancellationToken);

    /// <summary>
    /// Offers <paramref name="model"/> (stored under its hash) and waits for the merged model: <see cref="SyncKind.Initial"/>
    /// starts from the swarm's common model, <see cref="SyncKind.Periodic"/> is a sync point, <see cref="SyncKind.Final"/>
    /// returns only when every node has finished (<paramref name="trainedSinceSync"/> false: the model is the merged one just loaded).
    /// </summary>
    public Task<SessionSync> SyncAsync(SyncKind kind, ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken) => Serve(async () =>
    {
        var node = Registered();
        if (epochsDone < 0)
        {
            throw new InvalidMlRequestException($"epochs done cannot be negative (got {epochsDone})");
        }
        if (_signature!.DescribeDifference(model.Signature) is { } difference)
        {
            throw new InvalidMlRequestException($"the model offered differs from the one registered: {difference}");
        }
        if (kind is not (SyncKind.Initial or SyncKind.Periodic or SyncKind.Final))
        {
            throw new InvalidMlRequestException($"unknown sync kind {kind}: INITIAL, PERIODIC or FINAL");
        }
        if (_privacy is not null)
        {
            model = await PrivateAsync(_privacy, node, kind, model, trainedSinceSync, cancellationToken);
        }
        var outcome = kind switch
        {
            SyncKind.Initial => await node.InitialSyncAsync(model, cancellationToken),
            SyncKind.Periodic => await node.SyncAsync(model, cancellationToken),
            _ => await node.FinishAsync(model, trainedSinceSync, cancellationToken),
        };
        _lastMerged = outcome.Model;
        return new SessionSync(outcome.Model, outcome.Round, outcome.TrainingOver, _interval!.Current);
    }, cancellationToken);

    /// <summary>
    /// Records validation results after a merge (PERFDATA; adaptive sync); returns the batches until the next sync. A loss
    /// or metric that is not a finite number (NaN: none computed) is left out of PERFDATA, never refused.
    /// </summary>
    public Task<int> ReportAsync(int epochsDone, Evaluation? evaluation, CancellationToken cancellationToken) => Serve(async () =>
    {
        var node = Registered();
        if (evaluation is not null)
        {
            _interval!.Observe(evaluation.Loss); // a loss that is not a finite number (a diverged model, no validation data) changes nothing
        }
        // Under differential privacy the validation results stay on the node: they are computed on the site's data, outside the budget.
        await node.ReportAsync(epochsDone, _privacy is null ? evaluation : null, cancellationToken);
        return _interval!.Current;
    }, cancellationToken);

    /// <summary>
    /// What may leave the node under differential privacy. Only the very first initial sync (the untrained starting model,
    /// before any merged model) goes out as it is; a final sync with nothing trained since checks in the merged model the
    /// node handed out, whatever the program sent; everything else is a release: clipped, noised and accounted, whatever
    /// the program says about its training.
    /// </summary>
    private async Task<ModelState> PrivateAsync(PrivateReleases privacy, SwarmNode node, SyncKind kind, ModelState model, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        if (_lastMerged is not { } reference)
        {
            if (kind != SyncKind.Initial)
            {
                throw new InvalidMlRequestException("under differential privacy a model is measured from the merged model the node handed out: sync INITIAL first");
            }
            if (privacy.Releases == 0)
            {
                return model; // the untrained starting model
            }
            // A node that has released before (restarted, or its program registered again) may hold a trained model: it
            // offers the swarm's latest merged model in its place, which it adopts anyway while training is under way.
            var state = await context.Ledger.GetContractAsync(node.Options.Contract, cancellationToken);
            return state?.LatestMerged is { } latest && context.Store.Contains(latest.Hash)
                ? await context.Store.GetAsync(latest.Hash, cancellationToken)
                : throw new InvalidMlRequestException("this node has released models under differential privacy before, and the swarm's latest merged model is not in its store: a trained model cannot be offered as a starting model; start the program from a freshly initialised model with a new node identity, or reset the contract's node");
        }
        var merged = await context.Store.GetAsync(reference, cancellationToken);
        if (kind == SyncKind.Final && !trainedSinceSync)
        {
            return merged;
        }
        // The update leaves the node only clipped and noised; the program's own model stays as it trained it.
        var (released, norm) = privacy.Release(merged, model);
        node.PrivacySpent = privacy.Epsilon;
        LogReleased(_logger, context.NodeId, norm, privacy.Settings.ClipNorm, privacy.Releases, privacy.Epsilon, privacy.Settings.Delta);
        return released;
    }

    /// <summary>
    /// The accountant after a (re-)registration: the one this session kept, or a new one that counts the releases this
    /// node already has on the ledger (a restarted node or program must not start its budget from zero).
    /// </summary>
    private async Task<PrivateReleases> PrivacyAfterRegistering(DifferentialPrivacy settings, string contract, CancellationToken cancellationToken)
    {
        var state = await context.Ledger.GetContractAsync(contract, cancellationToken);
        long onLedger = state is null ? 0 : PrivateReleases.OnLedger(state, context.NodeId);
        var privacy = _privacy is { } kept && kept.Settings == settings ? kept : new PrivateReleases(settings);
        privacy.AtLeast(onLedger);
        _node!.PrivacySpent = privacy.Releases > 0 ? privacy.Epsilon : null;
        return privacy;
    }

    /// <summary>Starts the node's background duties (audits), stopping those of an earlier registration.</summary>
    private void StartDuties(SwarmNode node)
    {
        _duties?.Cancel();
        _duties?.Dispose();
        _duties = CancellationTokenSource.CreateLinkedTokenSource(context.Lifetime);
        _ = RunDutiesAsync(node, _duties.Token);
    }

    private async Task RunDutiesAsync(SwarmNode node, CancellationToken cancellationToken)
    {
        try
        {
            await node.RunDutiesAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the node stopped, or registered again
        }
        catch (Exception e)
        {
            LogDutiesFailed(_logger, context.NodeId, e.Message);
        }
    }

    private SwarmNode Registered() =>
        _node ?? throw new SwarmException("register first: the node has not joined a training contract");

    private async Task<T> Serve<T>(Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await action();
        }
        finally
        {
            _gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Node}: differential privacy: update norm {Norm:F3} clipped to {Clip} and noised; {Releases} releases so far, epsilon {Epsilon:F3} at delta {Delta}")]
    private static partial void LogReleased(ILogger logger, string node, double norm, double clip, long releases, double epsilon, double delta);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Node}: its background duties (auditing merges) stopped: {Reason}; it no longer audits until its program registers again")]
    private static partial void LogDutiesFailed(ILogger logger, string node, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Node}: the ML program registered for contract '{Contract}' (minPeers {MinPeers}, syncFrequency {SyncFrequency}, merge {Merge}, weight {Weight}, {Tensors} tensors)")]
    private static partial void LogRegistered(ILogger logger, string node, string contract, int minPeers, int syncFrequency, string merge, long weight, int tensors);
}
