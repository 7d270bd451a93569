using Microsoft.Extensions.Time.Testing;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Session;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Tests;

/// <summary>A whole swarm in one thread on simulated time: in-memory ledger and parameter network, real protocol code.</summary>
internal sealed class SwarmHarness
{
    public const string ContractName = "test";

    public SwarmHarness(TrainingParameters parameters, ContractTimings? timings = null)
    {
        Parameters = parameters;
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Ledger = new InMemoryLedger(Time);
        Ledger.Applied += (tx, outcome) => Events.AddRange(outcome.Events.Select(e => e.Text));
        Ledger.Submit(new CreateContract(ContractName, parameters, timings ?? new ContractTimings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20), 2, TimeSpan.FromSeconds(60))), "admin", isOperator: true)
            .EnsureAccepted();
    }

    public FakeTimeProvider Time { get; }
    public InMemoryLedger Ledger { get; }
    public InMemoryParameterNetwork Network { get; } = new();
    public DeterministicScheduler Scheduler { get; } = new();
    public TrainingParameters Parameters { get; }
    public float[] SharedOptimum { get; set; } = new float[FakeSession.Size];
    public List<string> Events { get; } = [];
    public List<string> NodeLog { get; } = [];
    public Dictionary<string, RunningNode> Nodes { get; } = [];

    /// <summary>Nodes whose failure does not fail the test (Byzantine nodes, refused once found out).</summary>
    public HashSet<string> MayFail { get; } = [];

    public ContractState State => Ledger.Registry.Contracts[ContractName];

    /// <summary>Starts a node whose program runs <see cref="SwarmProgram"/> through the callback, the in-process channel and its own <see cref="NodeSession"/>.</summary>
    public RunningNode Start(string id, int epochs, double batchSeconds = 1, Func<SwarmParameters, SwarmParameters>? configure = null, int seed = -1,
        Func<ILedger, ILedger>? wrapLedger = null, bool canLead = true, Func<IMlChannel, IMlChannel>? program = null, Node.IByzantineBehaviour? byzantine = null)
    {
        var parameters = new SwarmParameters(Parameters.SyncFrequency, Parameters.MinPeers)
        {
            TrainingContract = ContractName, MergeMethod = Parameters.MergeMethod, UseAdaptiveSync = Parameters.UseAdaptiveSync, TotalEpochs = epochs,
            DpClipNorm = Parameters.Privacy?.ClipNorm ?? 0, DpNoiseMultiplier = Parameters.Privacy?.NoiseMultiplier ?? 0, DpDelta = Parameters.Privacy?.Delta ?? 0,
        };
        parameters = configure?.Invoke(parameters) ?? parameters;
        Network.SetReachable(id, true);
        var ledger = wrapLedger?.Invoke(Ledger.For(id)) ?? Ledger.For(id);
        var cancel = new CancellationTokenSource();
        var node = new NodeSession(new NodeSessionContext(id, ledger, Network.StoreOf(id), Network.TransportOf(id))
        {
            Lifetime = cancel.Token,
            Byzantine = byzantine,
            CanLead = canLead, RetryDelay = TimeSpan.FromSeconds(1), Time = Time, Logs = new TestLoggerFactory(new TestLogger(Time, NodeLog)),
        });
        var session = new FakeSession(seed >= 0 ? seed : Nodes.Count + 1, Time, TimeSpan.FromSeconds(batchSeconds), SharedOptimum);
        IMlChannel channel = new InProcessMlChannel(node);
        var callback = new SwarmCallbackSession(parameters, session, program?.Invoke(channel) ?? channel, session.Evaluate);
        var task = Scheduler.Enter(() => SwarmProgram.RunAsync(session, callback, epochs, null, cancel.Token));
        var running = new RunningNode(id, node, session, task, cancel);
        Nodes[id] = running;
        return running;
    }

    /// <summary>kill -9: the node stops at once and its file server is gone.</summary>
    public void Crash(string id)
    {
        Nodes[id].Cancel.Cancel();
        Network.SetReachable(id, false);
        Scheduler.Drain();
    }

    /// <summary>Advances simulated time in small steps until <paramref name="done"/> holds; fails with the event log otherwise.</summary>
    public void RunUntil(Func<bool> done, TimeSpan limit, TimeSpan? step = null)
    {
        var end = Time.GetUtcNow() + limit;
        while (true)
        {
            Scheduler.Drain();
            var faulted = Nodes.Values.FirstOrDefault(n => n.Task.IsFaulted && !MayFail.Contains(n.Id));
            if (faulted is not null)
            {
                throw new InvalidOperationException($"node {faulted.Id} failed", faulted.Task.Exception!.InnerException);
            }
            if (done())
            {
                return;
            }
            if (Time.GetUtcNow() >= end)
            {
                throw new TimeoutException($"condition not met after {limit}; last events:\n{string.Join("\n", Events.TakeLast(25))}\nlast node log lines:\n{string.Join("\n", NodeLog.TakeLast(40))}");
            }
            Time.Advance(step ?? TimeSpan.FromMilliseconds(250));
        }
    }

    public void RunFor(TimeSpan duration) => RunUntil(() => false, duration, null, allowTimeout: true);

    private void RunUntil(Func<bool> done, TimeSpan limit, TimeSpan? step, bool allowTimeout)
    {
        try
        {
            RunUntil(done, limit, step);
        }
        catch (TimeoutException) when (allowTimeout)
        {
        }
    }

    /// <summary>Runs <paramref name="start"/> on the swarm's scheduler until it completes; returns its result or throws its exception.</summary>
    public T Complete<T>(Func<Task<T>> start)
    {
        var task = Scheduler.Enter(start);
        RunUntil(() => task.IsCompleted, TimeSpan.FromMinutes(5));
        return task.GetAwaiter().GetResult();
    }

    public bool AllDone(params string[] ids) => ids.All(id => Nodes[id].Task.IsCompletedSuccessfully);

    /// <summary>A model any node stored (to recompute a merge in a test).</summary>
    public Core.Model.ModelState Model(ContentHash hash) =>
        Nodes.Keys.Select(Network.StoreOf).First(s => s.Contains(hash)).GetAsync(hash, CancellationToken.None).GetAwaiter().GetResult();

    public ContentHash FinalHashOf(string id) => ContentHash.Parse(Nodes[id].Task.Result.Sha256);
}

internal sealed record RunningNode(string Id, NodeSession NodeSession, FakeSession Session, Task<MergedModel> Task, CancellationTokenSource Cancel)
{
    /// <summary>The merged round whose model the node holds (null until it has one).</summary>
    public MergedRound? Base => NodeSession.Node?.Base;
}
