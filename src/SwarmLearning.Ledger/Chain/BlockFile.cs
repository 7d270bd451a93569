using System.Text;
using System.Text.Json;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// The append-only block archive: one block per line of JSON in <c>blocks.jsonl</c>, fsynced per append. The Raft log
/// is compacted after snapshots; this file keeps the whole history for auditors, catching-up SNs and `ledger verify`.
/// </summary>
public sealed class BlockFile : IDisposable
{
    private readonly FileStream _stream;

    /// <summary>Opens (or creates) the archive at <paramref name="path"/> for appending (or emptied first, with <paramref name="truncate"/>).</summary>
    public BlockFile(string path, bool truncate = false)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _stream = new FileStream(path, truncate ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    /// <summary>
    /// Cuts a last line that was only partly written (the process died inside a write; the block was then not yet
    /// archived and is applied again). A complete line is never touched.
    /// </summary>
    public static void TrimTornEnd(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        long end = stream.Length;
        while (end > 0)
        {
            stream.Position = end - 1;
            if (stream.ReadByte() == '\n')
            {
                break;
            }
            end--;
        }
        if (end != stream.Length)
        {
            stream.SetLength(end);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Appends a block and flushes it to disk.</summary>
    public void Append(Block block)
    {
        _stream.Write(Encoding.UTF8.GetBytes(block.ToJson() + "\n"));
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads every block in order; a line that is not a block is reported by its line number.</summary>
    public static IEnumerable<Block> Read(string path)
    {
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }
            Block block;
            try
            {
                block = Block.FromJson(text);
            }
            catch (JsonException e)
            {
                throw new ChainViolationException(line - 1, $"line {line} of {path} is not a readable block ({e.Message})");
            }
            yield return block;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
