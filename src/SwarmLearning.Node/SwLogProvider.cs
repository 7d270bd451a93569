using Microsoft.Extensions.Logging;

namespace SwarmLearning.Node;

/// <summary>
/// The `&lt;program-name&gt;_sw.log` in the model folder: the swarm's own lines (SwarmLearning.*, information and up, the
/// ML program's output included), without the frameworks' chatter. Appended to across restarts.
/// </summary>
public sealed class SwLogProvider(string path) : ILoggerProvider
{
    private readonly StreamWriter _writer = new(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    private bool _closed;

    /// <summary>The log file.</summary>
    public string Path { get; } = path;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new SwLogger(this, categoryName.StartsWith("SwarmLearning.", StringComparison.Ordinal));

    private void Write(LogLevel level, string message)
    {
        string line = $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss.fff} {level.ToString().ToUpperInvariant()[..4]} {message}";
        lock (_writer)
        {
            if (!_closed)
            {
                _writer.WriteLine(line);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_writer)
        {
            _closed = true;
            _writer.Dispose();
        }
    }

    private sealed class SwLogger(SwLogProvider provider, bool ours) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => ours && logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, formatter(state, exception) + (exception is null ? "" : " | " + exception.Message));
            }
        }
    }
}
