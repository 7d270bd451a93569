namespace SwarmLearning.Identity;

/// <summary>
/// Writes files that hold secrets or state: owner-only permissions (0600) from creation, complete or not at all
/// (a temporary file renamed over the old one), so a crash never leaves a half-written key or state file.
/// </summary>
public static class OwnerOnlyFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically with mode 0600.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8, atomically, mode 0600.</summary>
    public static void WriteText(string path, string text) => Write(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Creates <paramref name="directory"/> readable by its owner only (0700) when it does not exist. An existing folder
    /// is left as it is (it may be the user's own, even /tmp): a component creates its data folder this way before
    /// anything is written inside it, so that no step makes it with wider permissions first.
    /// </summary>
    public static void CreateDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
