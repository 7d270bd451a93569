using Microsoft.Extensions.Logging;

namespace SwarmLearning.Protocol.Tests;

/// <summary>Collects log lines with simulated timestamps, to show in a failing test.</summary>
internal sealed class TestLogger(TimeProvider time, List<string> lines) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (lines)
        {
            lines.Add($"{time.GetUtcNow():HH:mm:ss.fff} {formatter(state, exception)}");
        }
    }
}

/// <summary>Gives every category the same <see cref="TestLogger"/>.</summary>
internal sealed class TestLoggerFactory(ILogger logger) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => logger;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }
}
