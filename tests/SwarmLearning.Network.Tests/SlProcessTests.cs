using System.Text.RegularExpressions;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Swarm Learning end to end, every part a real process on loopback: an identity server, 2 SNs, and SL nodes
/// (`swarm run-sl`) each starting its ML program: linear-toy (C#, TorchSharp SwarmCallback) or linear-pytorch (Python,
/// PyTorch SwarmCallback), the same model, so both kinds train in one swarm. Faults are real `kill -9`s.
/// </summary>
public sealed partial class SlProcessTests : IAsyncLifetime
{
    private LoopbackSwarm _swarm = null!;

    private static string CSharpProgram => $"dotnet {Path.Combine(SwarmProcess.RepositoryRoot, "tests", "ml-programs", "linear-torchsharp", "bin", SwarmProcess.Configuration, "net10.0", "linear-toy.dll")}";

    private static string PythonProgram => $"/usr/bin/python3 {Path.Combine(SwarmProcess.RepositoryRoot, "tests", "ml-programs", "linear-pytorch", "train.py")}";

    public async Task InitializeAsync() => _swarm = await LoopbackSwarm.StartAsync();

    [Fact]
    public async Task Three_nodes_one_in_python_reach_the_ledgers_final_model_and_a_killed_node_rejoins()
    {
        const string Contract = "e2e-rejoin";
        string Program(string ml, int seed) => $"{ml} --seed {seed} --contract {Contract} --min-peers 2 --epochs 4 --batches 10 --sync 5 --delay-ms 100";
        var nodes = new Dictionary<string, SwarmProcess>
        {
            ["a1"] = await StartSl("a1", Program(CSharpProgram, 1)),
            ["a2"] = await StartSl("a2", Program(CSharpProgram, 2)),
            ["a3"] = await StartSl("a3", Program(PythonProgram, 3)),
        };

        // kill -9 of a2 (node and ML program) once it has trained an epoch: a1 and a3 go on merging without it.
        await nodes["a2"].WaitForAsync(@"\[ml\] epoch 1/4 done", TimeSpan.FromSeconds(120));
        nodes["a2"].Kill();
        long roundAtKill = LastRound(nodes["a1"]);
        await nodes["a1"].WaitForAsync($@"loaded merged model \w+ of round {roundAtKill + 2}\b", TimeSpan.FromSeconds(60));

        // Restarted (no token: its SVID is on disk), it starts from the latest merged model, not from scratch.
        nodes["a2"] = await StartSl("a2", Program(CSharpProgram, 2), token: false);
        var rejoined = await nodes["a2"].WaitForAsync(@"\[ml\] started from round (\d+)", TimeSpan.FromSeconds(60));
        Assert.True(long.Parse(rejoined.Groups[1].Value) >= roundAtKill + 2, nodes["a2"].Output);

        var finals = new List<string>();
        foreach (var node in nodes.Values)
        {
            finals.Add((await node.WaitForAsync(@"\[ml\] final model (\w+)", TimeSpan.FromSeconds(180))).Groups[1].Value);
        }
        var contract = await ContractAsync("a1", Contract);
        Assert.Equal(ContractStatus.Completed, contract.Status);
        Assert.All(finals, hash => Assert.Equal(contract.FinalModel.Hex, hash));
        Assert.True(contract.History.Count >= 6, $"{contract.History.Count} merges");
        Assert.True(File.Exists(Path.Combine(_swarm.Root, "a3", "model", "train_sw.log")), "the Python node's _sw.log");
        Assert.Contains("training over", await File.ReadAllTextAsync(Path.Combine(_swarm.Root, "a1", "model", "linear-toy_sw.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_leader_killed_during_its_merge_is_replaced_within_the_leader_timeout()
    {
        const string Contract = "e2e-leader";
        // Every fetch waits 3 s (fault injection), so a leader is still merging when it is killed.
        var slow = new Dictionary<string, string> { ["SWARM_FAULT_FETCH_DELAY"] = "3s" };
        string Program(string ml, int seed) => $"{ml} --seed {seed} --contract {Contract} --min-peers 2 --epochs 2 --batches 10 --sync 5";
        var nodes = new Dictionary<string, SwarmProcess>
        {
            ["b1"] = await StartSl("b1", Program(CSharpProgram, 1), environment: slow),
            ["b2"] = await StartSl("b2", Program(PythonProgram, 2), environment: slow),
            ["b3"] = await StartSl("b3", Program(CSharpProgram, 3), environment: slow),
        };
        var leading = nodes.Select(n => Leading(n.Key, n.Value)).ToList();
        var (leader, round) = await await Task.WhenAny(leading);
        nodes[leader].Kill();
        var killedAt = DateTimeOffset.UtcNow;

        var survivors = nodes.Where(n => n.Key != leader).Select(n => n.Value).ToList();
        await Task.WhenAll(survivors.Select(s => s.WaitForAsync($@"loaded merged model \w+ of round {round}\b", TimeSpan.FromSeconds(60))));
        var contract = await ContractAsync(nodes.Keys.First(k => k != leader), Contract);
        var merged = contract.History.Single(m => m.Round == round);
        Assert.NotEqual(leader, merged.Leader);
        Assert.True(DateTimeOffset.UtcNow - killedAt < TimeSpan.FromSeconds(30), "the new leader's merge came within the 5 s timeout plus its fetches");
        Assert.Contains(survivors, s => s.Output.Contains($"leading the merge of round {round}", StringComparison.Ordinal));

        // The two others finish without it (it is given up after the straggler timeout) on the same final model.
        var finals = await Task.WhenAll(survivors.Select(s => s.WaitForAsync(@"\[ml\] final model (\w+)", TimeSpan.FromSeconds(180))));
        Assert.Equal(finals[0].Groups[1].Value, finals[1].Groups[1].Value);
    }

    [Fact]
    public async Task A_merged_model_lost_with_its_leader_before_anyone_fetched_it_is_merged_again()
    {
        const string Contract = "e2e-lost";
        // Every fetch waits 3 s, so the others have not fetched the merged model yet when its leader is killed.
        var slow = new Dictionary<string, string> { ["SWARM_FAULT_FETCH_DELAY"] = "3s" };
        string Program(string ml, int seed) => $"{ml} --seed {seed} --contract {Contract} --min-peers 2 --epochs 2 --batches 10 --sync 5";
        var nodes = new Dictionary<string, SwarmProcess>
        {
            ["d1"] = await StartSl("d1", Program(CSharpProgram, 1), environment: slow),
            ["d2"] = await StartSl("d2", Program(CSharpProgram, 2), environment: slow),
            ["d3"] = await StartSl("d3", Program(PythonProgram, 3), environment: slow),
        };
        var published = nodes.Select(async n => (n.Key, (await n.Value.WaitForAsync(@"published merged model \w+ of round ([1-9]\d*)", TimeSpan.FromSeconds(120))).Groups[1].Value)).ToList();
        var (leader, round) = await await Task.WhenAny(published);
        nodes[leader].Kill();

        var survivors = nodes.Where(n => n.Key != leader).Select(n => n.Value).ToList();
        await Task.WhenAll(survivors.Select(s => s.WaitForAsync($@"merged model \w+ of round {round} was lost with its leader", TimeSpan.FromSeconds(60))));
        var finals = await Task.WhenAll(survivors.Select(s => s.WaitForAsync(@"\[ml\] final model (\w+)", TimeSpan.FromSeconds(180))));
        Assert.Equal(finals[0].Groups[1].Value, finals[1].Groups[1].Value);
        var contract = await ContractAsync(nodes.Keys.First(k => k != leader), Contract);
        Assert.NotEqual(leader, contract.History.Single(m => m.Round == long.Parse(round)).Leader);
    }

    [Fact]
    public async Task With_min_peers_3_training_pauses_while_a_node_is_down_and_a_node_with_another_model_is_refused()
    {
        const string Contract = "e2e-pause";
        const string Stragglers = "120s"; // longer than the outage: the swarm must wait for the node, not give it up
        string Program(string ml, int seed, int features = 8) => $"{ml} --seed {seed} --contract {Contract} --min-peers 3 --epochs 3 --batches 10 --sync 5 --delay-ms 100 --features {features}";
        var nodes = new Dictionary<string, SwarmProcess>
        {
            ["c1"] = await StartSl("c1", Program(CSharpProgram, 1), stragglers: Stragglers),
            ["c2"] = await StartSl("c2", Program(PythonProgram, 2), stragglers: Stragglers),
            ["c3"] = await StartSl("c3", Program(CSharpProgram, 3), stragglers: Stragglers),
        };

        await nodes["c3"].WaitForAsync(@"\[ml\] epoch 1/3 done", TimeSpan.FromSeconds(120));
        nodes["c3"].Kill();
        await Task.Delay(TimeSpan.FromSeconds(2)); // a round already under way may still merge
        long paused = (await ContractAsync("c1", Contract)).History.Max(m => m.Round);
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(paused, (await ContractAsync("c1", Contract)).History.Max(m => m.Round));
        Assert.Contains("of minPeers 3 checked in", nodes["c1"].Output, StringComparison.Ordinal);

        // While the swarm waits, a fourth node whose model has 9 inputs instead of 8 is refused, told which tensor differs.
        var odd = await StartSl("c4", Program(PythonProgram, 4, features: 9), waitReady: false, stragglers: Stragglers);
        await odd.WaitForAsync("exited with code", TimeSpan.FromSeconds(60));
        Assert.Matches(new Regex("tensor 'weight' has shape \\[1, ?9\\]"), odd.Output);

        nodes["c3"] = await StartSl("c3", Program(CSharpProgram, 3), token: false, stragglers: Stragglers);
        var finals = new List<string>();
        foreach (var node in nodes.Values)
        {
            finals.Add((await node.WaitForAsync(@"\[ml\] final model (\w+)", TimeSpan.FromSeconds(180))).Groups[1].Value);
        }
        Assert.Single(finals.Distinct());
        long last = (await ContractAsync("c1", Contract)).History.Max(m => m.Round);
        Assert.True(last > paused, $"training resumed: merged rounds {paused} -> {last}\n{nodes["c1"].Output}");
    }

    private static async Task<(string Node, long Round)> Leading(string name, SwarmProcess node)
    {
        // Round 0 adopts the leader's own initial model with no fetch: the kill must land in a real merge (round 1 on).
        var match = await node.WaitForAsync(@"leading the merge of round ([1-9]\d*)", TimeSpan.FromSeconds(120));
        return (name, long.Parse(match.Groups[1].Value));
    }

    private static long LastRound(SwarmProcess node) =>
        MergedRound().Matches(node.Output).Select(m => long.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    private Task<SwarmProcess> StartSl(string name, string program, bool token = true, IReadOnlyDictionary<string, string>? environment = null, bool waitReady = true, string stragglers = "10s") =>
        _swarm.StartSl(name, program, token, environment, waitReady, stragglers);

    private Task<ContractState> ContractAsync(string node, string contract) => _swarm.ContractAsync(node, contract);

    [GeneratedRegex(@"loaded merged model \w+ of round (\d+)")]
    private static partial Regex MergedRound();

    public async Task DisposeAsync() => await _swarm.DisposeAsync();
}
