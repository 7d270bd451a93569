using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Node;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.InMemory;

/// <summary>
/// Many SL nodes in one process, each on its own thread, on the real protocol code with the in-memory ledger and
/// parameter network: the simulator's engine. Nodes can be crashed (their files become unreachable) and restarted.
/// </summary>
public sealed class InProcessSwarm
{
    private readonly ConcurrentDictionary<string, (Task<ModelState> Run, CancellationTokenSource Cancel)> _nodes = new();
    private readonly ILogger? _logger;

    /// <summary>Creates the contract <paramref name="contract"/> with its parameters and timings.</summary>
    public InProcessSwarm(string contract, TrainingParameters parameters, ContractTimings timings, ILogger? logger = null)
    {
        Contract = contract;
        Parameters = parameters;
        _logger = logger;
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

    /// <summary>Starts a node training <paramref name="epochs"/> epochs of <paramref name="session"/>; the task returns its final model.</summary>
    public Task<ModelState> Start(string nodeId, IMlSession session, int epochs, Func<SwarmNodeOptions, SwarmNodeOptions>? configure = null)
    {
        var options = new SwarmNodeOptions(nodeId, Contract, Parameters) { TotalEpochs = epochs, RetryDelay = TimeSpan.FromMilliseconds(200) };
        options = configure?.Invoke(options) ?? options;
        Network.SetReachable(nodeId, true);
        var node = new SwarmNode(options, Ledger.For(nodeId), Network.StoreOf(nodeId), Network.TransportOf(nodeId), TimeProvider.System, _logger);
        var cancel = new CancellationTokenSource();
        var reporter = new Reporter(p => Progress?.Invoke(p));
        var run = Task.Factory.StartNew(
            () => SwarmTrainingLoop.RunAsync(node, session, epochs, cancel.Token, reporter),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        _nodes[nodeId] = (run, cancel);
        return run;
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
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Reporter(Action<NodeProgress> report) : IProgress<NodeProgress>
    {
        public void Report(NodeProgress value) => report(value);
    }
}
