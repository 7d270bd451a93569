using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Ledger.Raft;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/SwarmLearning.Bench -- ledger`: three SN ledgers in one process (loopback
/// TCP, mutual TLS, real WAL on disk). Commit latency of sequential check-ins (median, p99) and the throughput of many
/// concurrent ones, against the floor of one 300-byte append with fsync measured in the same run.
/// </summary>
internal static class LedgerHarness
{
    public static async Task RunAsync(int sequential = 300, int concurrent = 3000)
    {
        string root = Path.Combine(Path.GetTempPath(), "swarm-bench-ledger-" + Guid.NewGuid().ToString("N")[..8]);
        var fsync = FsyncFloor(root, 200);
        using var ca = CertificateAuthority.OpenOrCreate(Path.Combine(root, "ca"), "swarm.local", TimeProvider.System);
        var nodes = new List<(RaftLedgerNode Node, RaftLedgerOptions Options)>();
        foreach (string name in new[] { "a", "b", "c" })
        {
            var options = new RaftLedgerOptions
            {
                DataDirectory = Path.Combine(root, name),
                EndPoint = new IPEndPoint(IPAddress.Loopback, FreePort()),
                ColdStart = name == "a",
                Identity = new StaticSvidSource(ca.IssueCredential(SwarmIdentities.SnNode("swarm.local", name), TimeSpan.FromHours(1), DateTimeOffset.UtcNow), new TrustBundle([ca.Certificate])),
                LedgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256),
            };
            nodes.Add((await RaftLedgerNode.StartAsync(options, NullLoggerFactory.Instance, CancellationToken.None), options));
            if (name == "a")
            {
                await nodes[0].Node.WriteGenesisAsync(CancellationToken.None);
            }
            else
            {
                await nodes[0].Node.AdmitAsync(options.Self, ChainRules.PublicKeyOf(options.LedgerKey), options.EndPoint, TimeSpan.FromSeconds(30), CancellationToken.None);
            }
        }
        var leader = nodes[0].Node;
        // 50 SL nodes registered, so check-ins spread over senders as in a real swarm.
        var senders = new List<(string Id, ECDsa Key, long Nonce)>();
        for (int i = 0; i < 50; i++)
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            string id = $"spiffe://swarm.local/sl/n{i:00}";
            await leader.SubmitAsSelfAsync(new RegisterKey(id, ChainRules.PublicKeyOf(key)), CancellationToken.None);
            var register = new ContractAction(new RegisterNode("bench", $"n{i:00}", new ModelSignature([new TensorSpec("w", DType.F32, [4])]), new TrainingParameters(50, 10)));
            await leader.SubmitAsync(SignedTransaction.Sign(new TxBody("swarm.local/main", id, 1, register), key), CancellationToken.None);
            senders.Add((id, key, 1));
        }
        int next = 0;
        SignedTransaction NextCheckIn()
        {
            int i = next++ % senders.Count;
            var (id, key, nonce) = senders[i];
            senders[i] = (id, key, nonce + 1);
            // Check-ins for a round far ahead are refused by the contract, but they are full transactions: signed,
            // ordered, replicated, verified and executed on every SN, which is what is measured.
            var tx = new ContractAction(new CheckIn("bench", id[^3..], 0, ContentHash.None, ContentHash.Of(BitConverter.GetBytes(next)), 1000));
            return SignedTransaction.Sign(new TxBody("swarm.local/main", id, nonce + 1, tx), key);
        }

        var latencies = new List<double>();
        for (int i = 0; i < sequential; i++)
        {
            var tx = NextCheckIn();
            var clock = Stopwatch.StartNew();
            await leader.SubmitAsync(tx, CancellationToken.None);
            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }
        var batch = Enumerable.Range(0, concurrent).Select(_ => NextCheckIn()).ToList();
        var total = Stopwatch.StartNew();
        await Task.WhenAll(batch.Select(tx => leader.SubmitAsync(tx, CancellationToken.None)));
        total.Stop();

        latencies.Sort();
        double median = latencies[latencies.Count / 2], p99 = latencies[(int)(latencies.Count * 0.99)];
        Console.WriteLine($"3 SNs (one process, loopback TCP with mutual TLS, WAL on disk), {Environment.ProcessorCount} cores");
        Console.WriteLine($"| measure | value | ratio to one 300-byte append + fsync ({fsync:F3} ms) |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| sequential check-in, commit latency median | {median:F2} ms | {median / fsync:F1} |");
        Console.WriteLine($"| sequential check-in, commit latency p99 | {p99:F2} ms | {p99 / fsync:F1} |");
        Console.WriteLine($"| {concurrent} concurrent check-ins | {concurrent / total.Elapsed.TotalSeconds:F0} tx/s ({total.Elapsed.TotalMilliseconds:F0} ms) | {total.Elapsed.TotalMilliseconds / concurrent / fsync:F2} per tx |");
        Console.WriteLine($"height {leader.State!.Height}, every SN at the same head: {nodes.Select(n => n.Node.State?.HeadHash).Distinct().Count() == 1}");
        foreach (var (node, _) in nodes)
        {
            await node.DisposeAsync();
        }
        Directory.Delete(root, recursive: true);
    }

    private static double FsyncFloor(string root, int count)
    {
        Directory.CreateDirectory(root);
        using var file = new FileStream(Path.Combine(root, "fsync.bin"), FileMode.Create, FileAccess.Write);
        var bytes = new byte[300];
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        return clock.Elapsed.TotalMilliseconds / count;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
