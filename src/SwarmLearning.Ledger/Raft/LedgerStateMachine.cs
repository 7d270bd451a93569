using System.Buffers;
using System.Text;
using System.Text.Json;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;
using SwarmLearning.Ledger.Chain;

namespace SwarmLearning.Ledger.Raft;

/// <summary>
/// The replicated state of an SN: every committed Raft entry is a block, re-executed and checked here by
/// <see cref="ChainRules"/>, then appended to the block archive. Snapshots hold the world state, so a restart does not
/// replay the whole history. A block that does not verify stops this SN (fail-stop): it is never skipped silently.
/// </summary>
internal sealed partial class LedgerStateMachine : SimpleStateMachine
{
    // Snapshot every 200 blocks; SWARM_LEDGER_SNAPSHOT_EVERY changes it (tests use small values to exercise snapshots).
    private static readonly long SnapshotEvery = long.TryParse(Environment.GetEnvironmentVariable("SWARM_LEDGER_SNAPSHOT_EVERY"), out long every) && every > 0 ? every : 200;
    private readonly BlockArchive _archive;
    private readonly Lock _archiveGate = new();
    private readonly ILogger _logger;

    public LedgerStateMachine(string dataDirectory, ILogger logger)
        : base(new DirectoryInfo(Path.Combine(dataDirectory, "snapshots")))
    {
        try
        {
            _archive = new BlockArchive(Path.Combine(dataDirectory, "chain"));
        }
        catch (ChainViolationException e)
        {
            throw new Core.SwarmException($"the block archive is damaged, so this SN will not start: {e.Message}. Copy chain/blocks.jsonl from another SN of the network, or check it with `swarm ledger verify {dataDirectory}`");
        }
        _logger = logger;
    }

    /// <summary>The block archive without gaps, from genesis.</summary>
    public string ArchivePath => _archive.ArchivePath;

    /// <summary>Blocks missing from the archive (this SN's state came from another SN's snapshot), or null.</summary>
    public ArchiveGap? Gap
    {
        get
        {
            lock (_archiveGate)
            {
                return _archive.Gap;
            }
        }
    }

    /// <summary>The height of the last block in the archive without gaps.</summary>
    public long ArchivedHeight
    {
        get
        {
            lock (_archiveGate)
            {
                return _archive.Height;
            }
        }
    }

    /// <summary>The state after the last applied block (null before genesis).</summary>
    public LedgerState? State { get; private set; }

    /// <summary>Set when a block failed verification: this SN must stop.</summary>
    public ChainViolationException? Fault { get; private set; }

    /// <summary>Raised after each applied block with its transactions' results.</summary>
    public event Action<Block, IReadOnlyList<TxResult>>? Applied;

    /// <summary>Raised for a committed block that does not extend the head (a proposal raced another): its transactions must be proposed again.</summary>
    public event Action<Block>? Superseded;

    protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        if (entry.IsConfiguration || !entry.TryGetPayload(out var payload) || payload.IsEmpty)
        {
            return new(false); // Raft's own no-op and membership entries
        }
        var block = Block.FromJson(Encoding.UTF8.GetString(payload.ToArray()));
        var state = State ?? LedgerState.Before(block.Header.ChainId);
        if (block.Header.Height != state.Height + 1 || block.Header.PreviousHash != state.HeadHash)
        {
            // Deterministic on every SN (same log, same state): a proposal built on a head that another block took.
            LogSuperseded(_logger, block.Header.Height, state.Height);
            Superseded?.Invoke(block);
            return new(false);
        }
        try
        {
            var (next, results) = ChainRules.Apply(state, block);
            State = next;
            lock (_archiveGate)
            {
                bool gapBefore = _archive.Gap is not null;
                _archive.Add(block);
                if (!gapBefore && _archive.Gap is { } gap)
                {
                    // The state came from another SN's snapshot: SnHost fetches the blocks in between from the other SNs.
                    LogArchiveGap(_logger, gap.From, gap.To);
                }
            }
            Applied?.Invoke(block, results);
            return new(block.Header.Height > 0 && block.Header.Height % SnapshotEvery == 0);
        }
        catch (ChainViolationException e)
        {
            Fault = e;
            LogFault(_logger, e.Message);
            throw;
        }
    }

    /// <summary>Writes the missing blocks (checked against both ends of <see cref="Gap"/>) into the archive.</summary>
    public void Backfill(IReadOnlyList<Block> missing)
    {
        lock (_archiveGate)
        {
            _archive.Fill(missing);
        }
    }

    protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token) =>
        writer.Invoke(JsonSerializer.SerializeToUtf8Bytes(State, LedgerJson.Options), token);

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        byte[] bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token);
        State = JsonSerializer.Deserialize<LedgerState>(bytes, LedgerJson.Options);
        LogRestored(_logger, State?.Height ?? -1);
    }

    public override async ValueTask DisposeAsync()
    {
        _archive.Dispose();
        await base.DisposeAsync();
    }

    [LoggerMessage(LogLevel.Information, "block {Height} does not extend the head at {Head}: superseded, its transactions are proposed again")]
    private static partial void LogSuperseded(ILogger logger, long height, long head);

    [LoggerMessage(LogLevel.Warning, "the block archive lacks blocks {From} to {To}: this SN caught up from another SN's snapshot; they are fetched from the other SNs")]
    private static partial void LogArchiveGap(ILogger logger, long from, long to);

    [LoggerMessage(LogLevel.Critical, "LEDGER FAULT, this SN stops: {Reason}")]
    private static partial void LogFault(ILogger logger, string reason);

    [LoggerMessage(LogLevel.Information, "restored the ledger state at block {Height} from a snapshot")]
    private static partial void LogRestored(ILogger logger, long height);
}
