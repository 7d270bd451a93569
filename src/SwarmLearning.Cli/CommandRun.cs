using Grpc.Core;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;

namespace SwarmLearning.Cli;

/// <summary>What every command shares: how it logs to the console and how a failure becomes a message and an exit code.</summary>
internal static class CommandRun
{
    /// <summary>One line per event, with the time; the frameworks' chatter only from warnings up.</summary>
    public static void ConsoleLogging(ILoggingBuilder logging) =>
        logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning).AddFilter("DotNext", LogLevel.Warning).AddFilter("Grpc", LogLevel.Warning);

    /// <summary>Runs <paramref name="action"/>; a refusal or bad input is printed as "error: ..." with exit code 2, Ctrl-C gives 130.</summary>
    public static async Task<int> Guarded(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (SwarmException e)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message);
            return 2;
        }
        catch (RpcException e)
        {
            await Console.Error.WriteLineAsync($"error: the server refused: {e.Status.Detail}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
    }

    /// <inheritdoc cref="Guarded(Func{Task{int}})"/>
    public static Task<int> Guarded(Func<Task> action) => Guarded(async () =>
    {
        await action();
        return 0;
    });
}
