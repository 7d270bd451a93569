using SwarmLearning.Protocol.Contract;
using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Byzantine nodes among real processes (docs/verification.md): an identity server, 2 SNs applying the contract's rules,
/// and `swarm run-sl` nodes with their ML programs; one node lies through fault injection (SWARM_FAULT_BYZANTINE: as a
/// leader or an auditor; SWARM_FAULT_DRIP: its file server sends a byte at a time). What is asserted is what the SNs
/// decided and what each honest program reports holding at the end.
/// </summary>
public sealed class ByzantineProcessTests : IAsyncLifetime
{
    private static readonly string[] Names = ["h1", "h2", "h3", "h4"];
    private LoopbackSwarm _swarm = null!;

    private static string Program(string contract, int seed, int epochs) =>
        $"dotnet {Path.Combine(SwarmProcess.RepositoryRoot, "tests", "ml-programs", "linear-torchsharp", "bin", SwarmProcess.Configuration, "net10.0", "linear-toy.dll")} " +
        $"--seed {seed} --contract {contract} --min-peers 4 --epochs {epochs} --batches 10 --sync 2";

    public async Task InitializeAsync() => _swarm = await LoopbackSwarm.StartAsync();

    /// <summary>Starts the four nodes, <paramref name="liar"/> with <paramref name="fault"/>; returns the honest nodes' final models.</summary>
    private async Task<(Dictionary<string, SwarmProcess> Nodes, List<string> Finals)> RunAsync(string contract, string liar, Dictionary<string, string> fault, int epochs = 2)
    {
        var nodes = new Dictionary<string, SwarmProcess>();
        foreach (var (name, i) in Names.Select((n, i) => (n, i)))
        {
            nodes[name] = await _swarm.StartSl(name, Program(contract, i + 1, epochs), environment: name == liar ? fault : null, stragglers: "60s");
        }
        var finals = new List<string>();
        foreach (var (name, node) in nodes.Where(n => n.Key != liar))
        {
            finals.Add((await node.WaitForAsync(@"\[ml\] final model (\w+)", TimeSpan.FromMinutes(4))).Groups[1].Value);
        }
        return (nodes, finals);
    }

    private static void AssertHonestNodesHoldTheVerifiedFinalModel(ContractState contract, List<string> finals, string liar)
    {
        Assert.Equal(ContractStatus.Completed, contract.Status);
        Assert.All(finals, hash => Assert.Equal(contract.FinalModel.Hex, hash));
        Assert.All(contract.History.Skip(1), m => Assert.NotNull(m.AuditedBy));
        Assert.All(Names.Where(n => n != liar), n => Assert.Null(contract.Nodes[n].Byzantine));
    }

    [Fact]
    public async Task A_leader_that_publishes_random_parameters_is_caught_in_that_round_by_the_sns_rules_and_shut_out()
    {
        const string Contract = "byz-leader";
        // The leader order is public: the liar is the node that leads round 1, so it lies in the first merge.
        string liar = TrainingContract.LeaderOrder(Contract, 1, Names)[0];
        var (nodes, finals) = await RunAsync(Contract, liar, new() { ["SWARM_FAULT_BYZANTINE"] = "leader-random" });

        var contract = await _swarm.ContractAsync(Names.First(n => n != liar), Contract);
        var mark = contract.Nodes[liar].Byzantine;
        Assert.NotNull(mark);
        Assert.Equal(1, mark.Round);
        Assert.Contains("published a wrong merge of round 1", mark.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(contract.History, m => m.Leader == liar);
        AssertHonestNodesHoldTheVerifiedFinalModel(contract, finals, liar);
        await nodes[liar].WaitForAsync("was found Byzantine in contract", TimeSpan.FromSeconds(60)); // and its own node is told why
    }

    [Fact]
    public async Task An_auditor_that_calls_honest_merges_wrong_is_outvoted_and_shut_out_and_no_honest_node_is_marked()
    {
        const string Contract = "byz-auditor";
        string liar = "h4";
        var (_, finals) = await RunAsync(Contract, liar, new() { ["SWARM_FAULT_BYZANTINE"] = "auditor-lie" }, epochs: 6);

        var contract = await _swarm.ContractAsync("h1", Contract);
        var mark = contract.Nodes[liar].Byzantine;
        Assert.NotNull(mark);
        Assert.Contains("the panel recomputed it and found it right", mark.Reason, StringComparison.Ordinal);
        AssertHonestNodesHoldTheVerifiedFinalModel(contract, finals, liar);
    }

    [Fact]
    public async Task A_contributor_that_drip_feeds_its_files_is_left_out_and_named_and_stalls_nobody()
    {
        const string Contract = "byz-drip";
        string liar = "h3";
        var (nodes, finals) = await RunAsync(Contract, liar, new() { ["SWARM_FAULT_DRIP"] = "1s" });

        var contract = await _swarm.ContractAsync("h1", Contract);
        Assert.Contains(contract.History, m => (m.Unreachable ?? []).Contains(liar));
        Assert.Null(contract.Nodes[liar].Byzantine); // slow is not Byzantine
        Assert.Contains(nodes.Values, n => n.Output.Contains($"left contribution {liar} out", StringComparison.Ordinal) && n.Output.Contains("did not arrive within", StringComparison.Ordinal));
        AssertHonestNodesHoldTheVerifiedFinalModel(contract, finals, liar);
    }

    public async Task DisposeAsync() => await _swarm.DisposeAsync();
}
