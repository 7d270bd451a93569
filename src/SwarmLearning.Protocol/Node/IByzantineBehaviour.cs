using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

/// <summary>A merge as its leader publishes it: the model's hash and the contributions it left out, with those it claims it could not fetch.</summary>
public sealed record Publication(ContentHash Hash, IReadOnlyList<string> Excluded, IReadOnlyList<string> Unreachable);

/// <summary>A leader's turn, as a Byzantine behaviour sees it: the contract, what was fetched, and how to merge a subset by the contract's rules.</summary>
/// <param name="State">The contract as the leader read it.</param>
/// <param name="NodeId">The leader.</param>
/// <param name="Store">The leader's store: every usable contribution is in it.</param>
/// <param name="Usable">The contributions fetched and checked.</param>
/// <param name="MergeOf">Merges the given contributions by the contract's method (as the honest leader would), stores the result and returns its hash.</param>
public sealed record LeaderTurn(ContractState State, string NodeId, IParameterStore Store, IReadOnlyList<MergeContribution> Usable,
    Func<IReadOnlyList<MergeContribution>, CancellationToken, Task<ContentHash>> MergeOf);

/// <summary>An audit this node was asked for, as a Byzantine behaviour sees it: the contract and the merge under audit.</summary>
public sealed record AuditTurn(ContractState State, string NodeId, MergedRound Merged);

/// <summary>An on-time check-in just accepted, as a Byzantine behaviour sees it.</summary>
public sealed record CheckInTurn(ContractState State, string NodeId, ILedger Ledger, long Round, ContentHash Model, long Weight);

/// <summary>
/// How a Byzantine node lies beyond the model its program hands it: as a leader, as an auditor, or as a contributor that
/// votes twice.
/// For attacks in `swarm simulate` and for fault drills; honest nodes have none. The node under it is the same
/// <see cref="SwarmNode"/>: only these decisions change (docs/robustness.md).
/// </summary>
public interface IByzantineBehaviour
{
    /// <summary>Returns what to publish as the leader instead of <paramref name="honest"/>; null publishes nothing.</summary>
    Task<Publication?> PublishAsync(LeaderTurn turn, Publication honest, CancellationToken cancellationToken);

    /// <summary>Returns the verdict to sign instead of <paramref name="honest"/> when asked to audit; null stays silent.</summary>
    Task<AuditMerge?> JudgeAsync(AuditTurn turn, AuditMerge honest, CancellationToken cancellationToken);

    /// <summary>Called after each on-time check-in; may submit more transactions.</summary>
    Task AfterCheckInAsync(CheckInTurn turn, CancellationToken cancellationToken);
}
