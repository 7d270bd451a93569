using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Protocol.InMemory;

/// <summary>
/// Many SL nodes in one process, each on its own thread, on the real protocol code with the in-memory ledger and
/// parameter network: the simulator's engine. Nodes can be crashed (their files become unreachable) and restarted.
/// </summary>
public sealed class InProcessSwarm
{
    private readonly ConcurrentDictionary<string, (Task<MergedModel> Run, CancellationTokenSource Cancel)> _nodes = new();
    private readonly ILoggerFactory _logs;

    /// <summary>Creates the contract <paramref name="contract"/> with its parameters and timings.</summary>
    public InProcessSwarm(string contract, TrainingParameters parameters, ContractTimings timings, ILoggerFactory? logs = null)
    {
        Contract = contract;
        Parameters = parameters;
        _logs = logs ?? NullLoggerFactory.Instance;
        Ledger = new InMemoryLedger(TimeProvider.System);
        Ledger.Submit(new CreateContract(contract, parameters, timings), "operator", isOperator: true).EnsureAccepted();
        Ledger.Applied += (_, outcome) =>
        {
            foreach (var e in outcome.Events)
            {
                Event?.Invoke(e);
            }
        };
    }

    /// <summary>The contract's name.</summary>
    public string Contract { get; }

    /// <summary>The training parameters every node uses.</summary>
    public TrainingParameters Parameters { get; }

    /// <summary>The ledger.</summary>
    public InMemoryLedger Ledger { get; }

    /// <summary>The nodes' parameter stores and the links between them.</summary>
    public InMemoryParameterNetwork Network { get; } = new();

    /// <summary>The contract's current state.</summary>
    public ContractState State => Ledger.Registry.Contracts[Contract];

    /// <summary>Raised on any thread when a node reports progress.</summary>
    public event Action<NodeProgress>? Progress;

    /// <summary>Raised on any thread for every contract event.</summary>
    public event Action<ContractEvent>? Event;

    /// <summary>
    /// Starts a node: its program trains <paramref name="epochs"/> epochs of <paramref name="session"/> through the swarm
    /// callback, the in-process channel and the node's own <see cref="NodeSession"/>, exactly as a deployed node serves
    /// it. The task returns the final swarm model (loaded in the session).
    /// </summary>
    /// <param name="nodeId">The node's name.</param>
    /// <param name="session">The node's ML program.</param>
    /// <param name="epochs">Epochs it trains.</param>
    /// <param name="configure">Changes the callback's parameters (those of the contract by default).</param>
    /// <param name="canLead">False opts the node out of leading merges.</param>
    /// <param name="program">Wraps the program's side of the channel (a Byzantine program: <see cref="Attacks.AttackingChannel"/>).</param>
    /// <param name="byzantine">How the node itself lies (as a leader, or voting twice): <see cref="Attacks.ByzantineNode"/>.</param>
    public Task<MergedModel> Start(string nodeId, IMlSession session, int epochs, Func<SwarmParameters, SwarmParameters>? configure = null, bool canLead = true,
        Func<IMlChannel, IMlChannel>? program = null, Node.IByzantineBehaviour? byzantine = null)
    {
        var parameters = new SwarmParameters(Parameters.SyncFrequency, Parameters.MinPeers)
        {
            TrainingContract = Contract, MergeMethod = Parameters.MergeMethod, UseAdaptiveSync = Parameters.UseAdaptiveSync, TotalEpochs = epochs,
            DpClipNorm = Parameters.Privacy?.ClipNorm ?? 0, DpNoiseMultiplier = Parameters.Privacy?.NoiseMultiplier ?? 0, DpDelta = Parameters.Privacy?.Delta ?? 0,
        };
        parameters = configure?.Invoke(parameters) ?? parameters;
        Network.SetReachable(nodeId, true);
        var cancel = new CancellationTokenSource();
        var context = new NodeSessionContext(nodeId, Ledger.For(nodeId), Network.StoreOf(nodeId), Network.TransportOf(nodeId))
        {
            CanLead = canLead, RetryDelay = TimeSpan.FromMilliseconds(200), Logs = _logs, Byzantine = byzantine, Lifetime = cancel.Token,
        };
        IMlChannel channel = new InProcessMlChannel(new NodeSession(context));
        var swarm = new SwarmCallbackSession(parameters, session, program?.Invoke(channel) ?? channel, session.Evaluate);
        var run = Task.Factory.StartNew(
            async () =>
            {
                using (swarm)
                {
                    return await SwarmProgram.RunAsync(session, swarm, epochs, p => Progress?.Invoke(p), cancel.Token);
                }
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        _nodes[nodeId] = (run, cancel);
        return run;
    }

    /// <summary>Stops every node at once (a run cut short) and waits until they have stopped.</summary>
    public async Task StopAllAsync()
    {
        foreach (string nodeId in _nodes.Keys)
        {
            await CrashAsync(nodeId);
        }
    }

    /// <summary>Stops a node at once (as kill -9 would) and makes its files unreachable; waits until it has stopped.</summary>
    public async Task CrashAsync(string nodeId)
    {
        var (run, cancel) = _nodes[nodeId];
        await cancel.CancelAsync();
        Network.SetReachable(nodeId, false);
        try
        {
            await run;
        }
        catch (Exception e) when (e is OperationCanceledException || cancel.IsCancellationRequested)
        {
            // stopped: whatever it was doing ends here
        }
    }

}
