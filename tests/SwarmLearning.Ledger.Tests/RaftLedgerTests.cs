using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Raft;

using SwarmLearning.Testing;

namespace SwarmLearning.Ledger.Tests;

/// <summary>Three SN ledgers in this process, on loopback TCP with mutual TLS: replication, leader loss, catch-up.</summary>
public sealed class RaftLedgerTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-raft-" + Guid.NewGuid().ToString("N")[..8]);
    private CertificateAuthority _ca = null!;
    private readonly Dictionary<string, (RaftLedgerOptions Options, RaftLedgerNode? Node)> _sns = [];

    public Task InitializeAsync()
    {
        _ca = CertificateAuthority.OpenOrCreate(Path.Combine(_root, "ca"), "swarm.local", TimeProvider.System);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Blocks_commit_on_every_sn_survive_the_leaders_loss_and_a_restarted_sn_catches_up()
    {
        var a = await Start("a", coldStart: true);
        await a.WriteGenesisAsync(Timeout());
        var b = await Start("b");
        var c = await Start("c");
        await Admit("b", a, b);
        await Admit("c", a, b, c);
        var first = await LeaderOf(a, b, c); // the sentinel, unless an election under load moved the lead

        using var node1 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var register = await first.SubmitAsSelfAsync(new RegisterKey("spiffe://swarm.local/sl/node1", ChainRules.PublicKeyOf(node1)), Timeout());
        Assert.True(register.Accepted, register.Reason);
        // Many at once (SL nodes starting together): the SN's own nonces reach the block in order, none is a "replay".
        var keys = Enumerable.Range(2, 12).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToList();
        var many = await Task.WhenAll(keys.Select((key, i) => Task.Run(() =>
            first.SubmitAsSelfAsync(new RegisterKey($"spiffe://swarm.local/sl/many{i}", ChainRules.PublicKeyOf(key)), Timeout()))));
        Assert.All(many, result => Assert.True(result.Accepted, result.Reason));
        keys.ForEach(key => key.Dispose());
        var joined = await first.SubmitAsync(Sign(node1, 1, TestChain.Register("node1")), Timeout());
        Assert.True(joined.Accepted, joined.Reason);
        await Converged(a, b, c);
        Assert.True(b.State!.Registry.Contracts.ContainsKey("mnist"));

        // The sentinel (the leader, normally) goes away; the other two elect a leader if needed and keep committing.
        await a.DisposeAsync();
        _sns["a"] = (_sns["a"].Options, null);
        var leader = await LeaderOf(b, c);
        var checkIn = await leader.SubmitAsync(Sign(node1, 2, TestChain.CheckIn("node1", 0, 9)), Timeout());
        Assert.True(checkIn.Accepted, checkIn.Reason);
        await Converged(b, c);

        // The sentinel comes back (no cold start now) and catches up from the others.
        var back = await Start("a");
        await Converged(back, b, c);
        Assert.Single(back.State!.Registry.Contracts["mnist"].Round.CheckIns);
        foreach (string name in new[] { "a", "b", "c" })
        {
            var report = ChainVerifier.Verify(Path.Combine(_root, name, "chain", "blocks.jsonl"));
            Assert.True(report.Ok, name + ": " + report.FirstFault?.Message + " heights " + string.Join(",", File.ReadLines(Path.Combine(_root, name, "chain", "blocks.jsonl")).Select(l => Block.FromJson(l).Header.Height)));
            Assert.Equal(back.State.HeadHash, report.HeadHash);
        }
    }

    private static SignedTransaction Sign(ECDsa key, long nonce, LedgerAction action) =>
        SignedTransaction.Sign(new TxBody("swarm.local/main", "spiffe://swarm.local/sl/node1", nonce, action), key);

    private async Task<RaftLedgerNode> Start(string name, bool coldStart = false)
    {
        var options = _sns.TryGetValue(name, out var existing) ? existing.Options : new RaftLedgerOptions
        {
            DataDirectory = Path.Combine(_root, name),
            EndPoint = new IPEndPoint(IPAddress.Loopback, Loopback.FreePort()),
            ColdStart = coldStart,
            Identity = new StaticSvidSource(_ca.IssueCredential(SwarmIdentities.SnNode("swarm.local", name), TimeSpan.FromHours(1), DateTimeOffset.UtcNow), new TrustBundle([_ca.Certificate])),
            LedgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256),
        };
        var node = await RaftLedgerNode.StartAsync(options with { ColdStart = coldStart }, NullLoggerFactory.Instance, Timeout());
        _sns[name] = (options, node);
        return node;
    }

    private IPEndPoint EndPointOf(string name) => _sns[name].Options.EndPoint;

    private string KeyOf(string name) => ChainRules.PublicKeyOf(_sns[name].Options.LedgerKey);

    /// <summary>Admits SN <paramref name="name"/> through whichever of <paramref name="nodes"/> leads, as a joining SN retries its join.</summary>
    private async Task Admit(string name, params RaftLedgerNode[] nodes)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await (await LeaderOf(nodes)).AdmitAsync(SwarmIdentities.SnNode("swarm.local", name), KeyOf(name), EndPointOf(name), TimeSpan.FromSeconds(30), Timeout());
                return;
            }
            catch (SwarmLearning.Core.SwarmException e) when (attempt < 5 && e.Message.Contains("stopped leading", StringComparison.Ordinal))
            {
            }
        }
    }

    private static async Task<RaftLedgerNode> LeaderOf(params RaftLedgerNode[] nodes)
    {
        for (int i = 0; i < 300; i++)
        {
            if (nodes.FirstOrDefault(n => n.IsLeader) is { } leader)
            {
                return leader;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("no leader elected within 30 s");
    }

    private static async Task Converged(params RaftLedgerNode[] nodes)
    {
        for (int i = 0; i < 300; i++)
        {
            var heads = nodes.Select(n => n.State?.HeadHash).Distinct().ToList();
            if (heads.Count == 1 && heads[0] is not null)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the SNs did not converge: " + string.Join(", ", nodes.Select(n => $"{n.State?.Height}:{n.State?.HeadHash?[..8]}")));
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    public async Task DisposeAsync()
    {
        foreach (var (_, node) in _sns.Values)
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }
        _ca.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
