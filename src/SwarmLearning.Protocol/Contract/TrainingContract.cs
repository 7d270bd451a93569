using System.Security.Cryptography;
using System.Text;
using SwarmLearning.Core.Files;

namespace SwarmLearning.Protocol.Contract;

/// <summary>
/// The training contract as a pure, deterministic state machine: <see cref="Apply"/> maps (state, transaction, block
/// time) to a new state and events, or refuses the transaction. No clock, no randomness, no floating point in anything
/// that decides; every SN applying the same transactions reaches the same state.
/// </summary>
public static partial class TrainingContract
{
    /// <summary>Weights are stored in millionths so staleness discounts stay integers.</summary>
    public const long WeightScale = 1_000_000;

    /// <summary>Applies one transaction; returns the new state (the same instance if nothing changed) or throws <see cref="ContractRejectedException"/>.</summary>
    public static ContractState Apply(ContractState? state, ContractTx tx, TxContext context, List<ContractEvent> events)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrWhiteSpace(tx.Contract))
        {
            throw Reject("no-contract-name", "the transaction names no contract");
        }
        var next = tx switch
        {
            CreateContract create => Create(state, create, context, events),
            RegisterNode register => Register(state, register, context, events),
            ResetContract reset => Reset(Existing(state, tx), reset, context, events),
            _ => ApplyToExisting(Existing(state, tx), tx, context, events),
        };
        next = Advance(next, context, events);
        return ReferenceEquals(next, state) ? state! : next with { Version = (state?.Version ?? 0) + 1 };
    }

    private static ContractState ApplyToExisting(ContractState state, ContractTx tx, TxContext context, List<ContractEvent> events) => tx switch
    {
        CheckIn checkIn => ApplyCheckIn(state, checkIn, Sender(state, checkIn.NodeId, context), context, events),
        PublishMerge publish => Publish(state, publish, Sender(state, publish.NodeId, context), context, events),
        ReportProgress report => Report(state, report, Sender(state, report.NodeId, context)),
        ReportLostMerge lost => ReopenLostMerge(state, lost, Sender(state, lost.NodeId, context), context, events),
        AuditMerge verdict => ApplyVerdict(state, verdict, Sender(state, verdict.NodeId, context), context, events),
        FinishTraining finish => Finish(state, Sender(state, finish.NodeId, context), events),
        LeaveContract leave => Leave(state, Sender(state, leave.NodeId, context), "left", events),
        RemoveNode remove => Leave(state, Operator(state, remove.NodeId, context), "was removed by an operator", events),
        Tick => state,
        _ => throw Reject("unknown-transaction", $"transaction type {tx.GetType().Name} is not part of the training contract"),
    };

    /// <summary>The order in which participants lead a round: by SHA-256 of (contract, round, node id); every node computes the same.</summary>
    public static IReadOnlyList<string> LeaderOrder(string contract, long round, IEnumerable<string> candidates) =>
        [.. candidates.OrderBy(id => LeaderKey(contract, round, id), StringComparer.Ordinal).ThenBy(id => id, StringComparer.Ordinal)];

    private static string LeaderKey(string contract, long round, string nodeId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{contract}\n{round}\n{nodeId}")));

    private static ContractState Existing(ContractState? state, ContractTx tx) =>
        state ?? throw Reject("no-contract", $"there is no training contract named '{tx.Contract}'; a node's registration or an operator's create makes one");

    private static NodeRecord Sender(ContractState state, string nodeId, TxContext context)
    {
        if (context.Sender != nodeId && !context.IsOperator)
        {
            throw Reject("not-sender", $"a transaction for node '{nodeId}' was sent by '{context.Sender}'; a node may act only for itself");
        }
        var node = Operator(state, nodeId, context);
        return node.Byzantine is { } mark
            ? throw Reject("byzantine", $"node '{nodeId}' was found Byzantine in contract '{state.Name}' at round {mark.Round} (it {mark.Reason}); its transactions are refused. An operator may remove it or reset the contract")
            : node;
    }

    private static NodeRecord Operator(ContractState state, string nodeId, TxContext context)
    {
        if (context.Sender != nodeId && !context.IsOperator)
        {
            throw Reject("not-operator", $"only an operator may do this for node '{nodeId}'");
        }
        if (!state.Nodes.TryGetValue(nodeId, out var node) || node.Status == NodeStatus.Left)
        {
            throw Reject("not-registered", $"node '{nodeId}' is not registered in contract '{state.Name}' (or has left); register it first");
        }
        return node;
    }

    internal static ContractRejectedException Reject(string code, string message) => new(code, message);

    private static void Say(List<ContractEvent> events, ContractState state, string kind, string text) =>
        events.Add(new ContractEvent(state.Name, kind, text));

    private static string Short(ContentHash hash) => hash.Short;
}
