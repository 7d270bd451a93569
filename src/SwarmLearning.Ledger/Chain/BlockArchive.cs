namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// An SN's block archive, never with a hole: <c>blocks.jsonl</c> holds the chain from genesis without a gap, and when
/// this SN's state jumped ahead (it joined, or came back after a crash, from another SN's snapshot) the blocks it
/// applies after the jump wait in <c>pending.jsonl</c> until the missing ones, fetched from other SNs and checked
/// against both ends, are written in between (<see cref="Fill"/>). Every step survives a kill -9: a block is fsynced
/// before it counts, and the files are checked and tidied when opened (docs/ledger.md).
/// </summary>
public sealed class BlockArchive : IDisposable
{
    private static readonly string Zero = new('0', 64);
    private BlockFile _archive;
    private BlockFile? _pending;
    private Tail _head;
    private Tail? _waiting;

    /// <summary>Opens (or creates) the archive in <paramref name="chainDirectory"/>; checks and tidies both files.</summary>
    /// <exception cref="ChainViolationException">A file was changed or is not a chain.</exception>
    public BlockArchive(string chainDirectory)
    {
        Directory.CreateDirectory(chainDirectory);
        ArchivePath = Path.Combine(chainDirectory, "blocks.jsonl");
        PendingPath = Path.Combine(chainDirectory, "pending.jsonl");
        BlockFile.TrimTornEnd(ArchivePath);
        BlockFile.TrimTornEnd(PendingPath);
        var archived = ChainVerifier.CheckFile(ArchivePath);
        if (archived.First is > 0)
        {
            // An archive from before this layout that starts after genesis: its blocks are the pending part.
            File.Move(ArchivePath, PendingPath, overwrite: true);
            archived = new Tail(null, -1, Zero);
        }
        _head = archived;
        var pending = ChainVerifier.CheckFile(PendingPath);
        if (pending.First is { } first && first <= _head.Last)
        {
            // A fill that was cut after writing to the archive: the pending blocks already archived go, the rest stay.
            var rest = BlockFile.Read(PendingPath).Where(b => b.Header.Height > _head.Last).ToList();
            if (rest.Count == 0)
            {
                File.Delete(PendingPath);
            }
            else
            {
                RewritePending(rest);
            }
            pending = ChainVerifier.CheckFile(PendingPath);
        }
        _archive = new BlockFile(ArchivePath);
        if (pending.First == _head.Last + 1 && pending.FirstPrevious == _head.Hash)
        {
            // The gap was filled but the pending blocks had not all been moved over yet: move them now.
            foreach (var block in BlockFile.Read(PendingPath))
            {
                _archive.Append(block);
                _head = _head.After(block);
            }
            File.Delete(PendingPath);
            pending = new Tail(null, -1, Zero);
        }
        if (pending.First is not null)
        {
            _waiting = pending;
            _pending = new BlockFile(PendingPath);
        }
    }

    /// <summary>The archive without gaps, from genesis.</summary>
    public string ArchivePath { get; }

    /// <summary>Blocks after a gap, waiting for it to be filled.</summary>
    public string PendingPath { get; }

    /// <summary>The height of the last block in the archive without gaps (-1: none).</summary>
    public long Height => _head.Last;

    /// <summary>The blocks missing between the archive and the pending blocks, or null when there is no gap.</summary>
    public ArchiveGap? Gap => _waiting is { First: { } first } waiting ? new ArchiveGap(_head.Last + 1, first - 1, waiting.FirstPrevious, _head.Hash) : null;

    /// <summary>
    /// Records a block this SN applied. One already archived is skipped (a replay after a restart); one that does not
    /// follow the last archived or pending block opens a gap, and the blocks from there on wait in the pending file.
    /// </summary>
    public void Add(Block block)
    {
        long height = block.Header.Height;
        if (_waiting is null)
        {
            if (height <= _head.Last)
            {
                return;
            }
            if (height == _head.Last + 1)
            {
                _archive.Append(block);
                _head = _head.After(block);
                return;
            }
        }
        else if (height <= _waiting.Value.Last)
        {
            return;
        }
        else if (height == _waiting.Value.Last + 1)
        {
            _pending!.Append(block);
            _waiting = _waiting.Value.After(block);
            return;
        }
        // The state jumped past what is archived (a snapshot from another SN): start the pending part at this block.
        // Earlier pending blocks, if any, become part of the gap and are fetched again.
        _pending?.Dispose();
        RewritePending([block]);
        _pending = new BlockFile(PendingPath);
        _waiting = new Tail(height, height, block.Hash, block.Header.PreviousHash);
    }

    /// <summary>
    /// Writes the missing blocks (from another SN) into the gap, after checking that they link to the archive's last
    /// block at one end and to the first pending block at the other; then the pending blocks follow them.
    /// </summary>
    /// <exception cref="ChainViolationException">The blocks are not exactly the chain between the two ends.</exception>
    public void Fill(IReadOnlyList<Block> missing)
    {
        var gap = Gap ?? throw new InvalidOperationException("the archive has no gap");
        ArchiveGap.Check(gap, missing);
        foreach (var block in missing)
        {
            _archive.Append(block);
            _head = _head.After(block);
        }
        _pending!.Dispose();
        foreach (var block in BlockFile.Read(PendingPath))
        {
            _archive.Append(block);
            _head = _head.After(block);
        }
        File.Delete(PendingPath);
        _pending = null;
        _waiting = null;
    }

    private void RewritePending(IReadOnlyList<Block> blocks)
    {
        string temporary = PendingPath + ".tmp";
        using (var file = new BlockFile(temporary, truncate: true))
        {
            foreach (var block in blocks)
            {
                file.Append(block);
            }
        }
        File.Move(temporary, PendingPath, overwrite: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _archive.Dispose();
        _pending?.Dispose();
    }
}

/// <summary>A run of consecutive blocks in a file: first and last height, last hash, and what the first links to.</summary>
internal readonly record struct Tail(long? First, long Last, string Hash, string FirstPrevious = "")
{
    public Tail After(Block block) => new(First ?? block.Header.Height, block.Header.Height, block.Hash, First is null ? block.Header.PreviousHash : FirstPrevious);
}
