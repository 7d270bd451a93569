using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Node.MlChannel;

/// <summary>The user's ML program as a child process (`sh -c COMMAND`), its output logged line by line.</summary>
public sealed partial class MlProgram : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ILogger _logger;

    private MlProgram(Process process, ILogger logger)
    {
        _process = process;
        _logger = logger;
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Starts <paramref name="command"/> with <paramref name="environment"/> added to this process's.</summary>
    public static MlProgram Start(string command, string? workingDirectory, IReadOnlyDictionary<string, string> environment, ILogger logger)
    {
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info };
        var program = new MlProgram(process, logger);
        process.OutputDataReceived += (_, e) => program.Line(e.Data, LogLevel.Information);
        process.ErrorDataReceived += (_, e) => program.Line(e.Data, LogLevel.Warning);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new Core.SwarmException($"cannot start the ML program '{command}': {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        LogStarted(logger, command, process.Id);
        return program;
    }

    /// <summary>
    /// The program's name for its `_sw.log`: the first argument that names a script or assembly (train.py → train),
    /// else the command's first word.
    /// </summary>
    public static string NameOf(string command)
    {
        string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? script = words.FirstOrDefault(w => Path.GetExtension(w) is ".py" or ".dll" or ".sh" or ".jar" or ".exe" or ".csproj");
        string chosen = Path.GetFileNameWithoutExtension(script ?? words.FirstOrDefault() ?? "ml");
        return string.Concat(chosen.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
    }

    /// <summary>Waits for the program to exit; returns its exit code.</summary>
    public async Task<int> WaitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    private void Line(string? line, LogLevel level)
    {
        if (line is not null && _logger.IsEnabled(level))
        {
            _logger.Log(level, "[ml] {Line}", line);
        }
    }

    /// <summary>Stops the program (and its children) if it still runs.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        _process.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "started the ML program (pid {Pid}): {Command}")]
    private static partial void LogStarted(ILogger logger, string command, int pid);
}
