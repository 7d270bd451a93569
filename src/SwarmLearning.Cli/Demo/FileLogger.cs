using Microsoft.Extensions.Logging;

namespace SwarmLearning.Cli.Demo;

/// <summary>Appends log lines with timestamps to one file, shared by every node of an in-process swarm (one logger for every category).</summary>
internal sealed class FileLogger(string path) : ILogger, ILoggerFactory
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = true };

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string line = $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {logLevel.ToString().ToUpperInvariant()[..4]} {formatter(state, exception)}";
        lock (_writer)
        {
            _writer.WriteLine(line);
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("a FileLogger writes one file");

    public void Dispose() => _writer.Dispose();
}
