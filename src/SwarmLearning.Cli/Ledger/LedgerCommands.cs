using System.CommandLine;
using SwarmLearning.Core;
using SwarmLearning.Ledger.Chain;

namespace SwarmLearning.Cli.Ledger;

/// <summary>`swarm ledger verify`: checks a block archive offline from genesis.</summary>
internal static class LedgerCommands
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "an SN's data folder, or its chain/blocks.jsonl" };
        var verify = new Command("verify", "check the whole chain offline: links, Merkle roots, signatures, re-execution and state roots; names the first bad block (exit 1), or the blocks still missing (exit 3)") { path };
        verify.SetAction(parse =>
        {
            string given = parse.GetValue(path)!;
            string file = Directory.Exists(given) ? Path.Combine(given, "chain", "blocks.jsonl") : given;
            try
            {
                var report = ChainVerifier.Verify(file, blocks => Console.Error.WriteLine($"  {blocks:N0} blocks verified…"));
                if (report.Ok)
                {
                    Console.WriteLine($"ok: {report.Blocks:N0} blocks, {report.Transactions:N0} transactions, {report.Contracts} contracts; head {report.HeadHash}, state root {report.StateRoot}");
                    // Blocks applied after a snapshot jump wait beside the archive until the gap before them is filled.
                    string pending = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "pending.jsonl");
                    if (File.Exists(pending) && BlockFile.Read(pending).Select(b => b.Header.Height).ToList() is [var first, ..] heights)
                    {
                        Console.WriteLine($"incomplete: blocks {report.Blocks} to {first - 1} are missing (the SN fetches them from the other SNs); " +
                            $"blocks {first} to {heights[^1]} wait in {pending}");
                        return 3;
                    }
                    return 0;
                }
                Console.WriteLine($"BAD: {report.FirstFault!.Message}");
                Console.WriteLine($"     the {report.Blocks:N0} blocks before it verified (head {report.HeadHash ?? "none"}); {file}");
                return 1;
            }
            catch (SwarmException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 2;
            }
        });
        var command = new Command("ledger", "inspect and verify the Swarm Network's ledger");
        command.Subcommands.Add(verify);
        return command;
    }
}
