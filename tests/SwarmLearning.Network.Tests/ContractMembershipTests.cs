using Microsoft.Extensions.Time.Testing;
using SwarmLearning.Core.Model;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;

namespace SwarmLearning.Network.Tests;

/// <summary>Who may fetch a node's files: the active members of its contract, read from the ledger (here the in-memory one).</summary>
public sealed class ContractMembershipTests : IDisposable
{
    private static readonly ModelSignature Model = new([new TensorSpec("w", DType.F32, [2])]);
    private readonly string _work = Path.Combine(Path.GetTempPath(), "swarm-members-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly InMemoryLedger _ledger;

    public ContractMembershipTests()
    {
        _ledger = new InMemoryLedger(_time);
        _ledger.Submit(new CreateContract("c", new TrainingParameters(2, 1), ContractTimings.Default), "op", isOperator: true).EnsureAccepted();
        Register("a");
        Register("b");
        Directory.CreateDirectory(_work);
    }

    private void Register(string node) => _ledger.Submit(new RegisterNode("c", node, Model, new TrainingParameters(2, 1)), node).EnsureAccepted();

    private static SpiffeId Sl(string name) => SpiffeId.Parse($"spiffe://swarm.local/sl/{name}");

    [Fact]
    public async Task Members_are_served_outsiders_leavers_and_other_roles_are_refused_with_the_reason()
    {
        var members = new ContractMembership(_ledger, _work, _time);
        Assert.Contains("not joined a training contract", await members.ProblemAsync(Sl("b"), CancellationToken.None));
        members.Registered("c");

        Assert.Null(await members.ProblemAsync(Sl("b"), CancellationToken.None));
        Assert.Contains("not an active member of contract 'c'", await members.ProblemAsync(Sl("mallory"), CancellationToken.None));
        Assert.Contains("is not an SL node", await members.ProblemAsync(SpiffeId.Parse("spiffe://swarm.local/swci/ops"), CancellationToken.None));

        _ledger.Submit(new LeaveContract("c", "b"), "b").EnsureAccepted();
        _time.Advance(members.Refresh);
        Assert.NotNull(await members.ProblemAsync(Sl("b"), CancellationToken.None));
    }

    [Fact]
    public async Task A_node_that_joins_later_is_served_once_the_ledger_shows_it_and_the_contract_is_remembered()
    {
        var members = new ContractMembership(_ledger, _work, _time);
        members.Registered("c");
        Assert.NotNull(await members.ProblemAsync(Sl("late"), CancellationToken.None));
        Register("late");
        _time.Advance(members.Refresh); // an unknown caller makes it read the ledger again, at most every Refresh
        Assert.Null(await members.ProblemAsync(Sl("late"), CancellationToken.None));

        var restarted = new ContractMembership(_ledger, _work, _time); // serving only, after the training: same contract
        Assert.Null(await restarted.ProblemAsync(Sl("a"), CancellationToken.None));
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);
}
