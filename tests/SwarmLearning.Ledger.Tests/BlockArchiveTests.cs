using SwarmLearning.Ledger.Chain;
using SwarmLearning.Testing;

namespace SwarmLearning.Ledger.Tests;

/// <summary>
/// The archive never holds a hole (issue 13, item 4): a state that jumps ahead by a snapshot leaves the later blocks
/// pending until the gap is filled from a peer, across restarts and cut fills, and the result verifies from genesis.
/// </summary>
public sealed class BlockArchiveTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"swarm-archive-{Guid.NewGuid():N}");
    private readonly TestChain _chain = new();

    public BlockArchiveTests()
    {
        _chain.Propose(_chain.AddSender("spiffe://swarm.local/sl/node1"));
        for (int i = 0; i < 8; i++)
        {
            _chain.Propose(_chain.Sign("spiffe://swarm.local/sl/node1", TestChain.Register("node1")));
        }
    }

    [Fact]
    public async Task A_jump_past_the_archive_waits_for_the_gap_and_then_verifies_from_genesis()
    {
        using (var archive = new BlockArchive(_directory))
        {
            Add(archive, 0, 3);
            Add(archive, 7, 8); // a snapshot at 6 came from the leader while this SN was down
            Assert.Equal(3, archive.Height);
            Assert.Equal(new ArchiveGap(4, 6, _chain.Blocks[7].Header.PreviousHash, _chain.Blocks[3].Hash), archive.Gap);
        }
        Assert.True(ChainVerifier.Verify(Path.Combine(_directory, "blocks.jsonl")).Ok);
        var (incomplete, said) = await SwarmProcess.RunAsync("ledger", "verify", Path.Combine(_directory, "blocks.jsonl"));
        Assert.Equal(3, incomplete);
        Assert.Contains("incomplete: blocks 4 to 6 are missing", said, StringComparison.Ordinal);

        using (var reopened = new BlockArchive(_directory)) // kill -9 and restart: the gap is known from the files
        {
            Assert.Equal(4, reopened.Gap!.From);
            Add(reopened, 7, 9); // replays of pending blocks are skipped, the next one is pending too
            Assert.Throws<ChainViolationException>(() => reopened.Fill([_chain.Blocks[4], _chain.Blocks[6], _chain.Blocks[5]]));
            reopened.Fill(_chain.Blocks[4..7]);
            Assert.Null(reopened.Gap);
            Assert.Equal(9, reopened.Height);
        }
        var report = ChainVerifier.Verify(Path.Combine(_directory, "blocks.jsonl"));
        Assert.True(report.Ok, report.FirstFault?.Message);
        Assert.Equal(10, report.Blocks);
        Assert.False(File.Exists(Path.Combine(_directory, "pending.jsonl")));
    }

    [Fact]
    public void A_fill_cut_half_way_and_a_torn_last_line_are_tidied_when_opened()
    {
        using (var archive = new BlockArchive(_directory))
        {
            Add(archive, 0, 2);
            Add(archive, 5, 6);
        }
        // As if killed inside Fill: blocks 3 to 5 reached the archive, the pending file still holds 5 and 6.
        using (var file = new BlockFile(Path.Combine(_directory, "blocks.jsonl")))
        {
            file.Append(_chain.Blocks[3]);
            file.Append(_chain.Blocks[4]);
            file.Append(_chain.Blocks[5]);
        }
        File.AppendAllText(Path.Combine(_directory, "blocks.jsonl"), _chain.Blocks[6].ToJson()[..40]); // torn write
        using (var reopened = new BlockArchive(_directory))
        {
            Assert.Equal(6, reopened.Height); // 3 to 5 archived, 6 moved over from the pending file
            Assert.Null(reopened.Gap);
            Add(reopened, 6, 7);
        }
        Assert.True(ChainVerifier.Verify(Path.Combine(_directory, "blocks.jsonl")).Ok);
    }

    [Fact]
    public void A_second_jump_during_a_gap_widens_the_gap()
    {
        using var archive = new BlockArchive(_directory);
        Add(archive, 0, 1);
        Add(archive, 4, 4);
        Add(archive, 7, 8);
        Assert.Equal(new ArchiveGap(2, 6, _chain.Blocks[7].Header.PreviousHash, _chain.Blocks[1].Hash), archive.Gap);
        archive.Fill(_chain.Blocks[2..7]);
        Assert.Equal(8, archive.Height);
    }

    private void Add(BlockArchive archive, int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            archive.Add(_chain.Blocks[i]);
        }
    }

    public void Dispose()
    {
        _chain.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
