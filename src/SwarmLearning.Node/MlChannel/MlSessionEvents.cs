using Microsoft.Extensions.Logging;
using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Node.MlChannel;

/// <summary>What the ML program's session did, as log lines (the node's console, its log and the program's _sw.log) and as the last state seen.</summary>
public sealed partial class MlSessionEvents(ILogger logger)
{
    /// <summary>The contract the program registered for, once it has.</summary>
    public string? Contract { get; private set; }

    /// <summary>The last round whose merged model the program received.</summary>
    public long? Round { get; private set; }

    /// <summary>The final swarm model, once training is over.</summary>
    public ContentHash? FinalModel { get; private set; }

    internal void Registered(string contract) => Contract = contract;

    internal void Synced(SyncKind kind, long round, ContentHash model, bool over, int epochsDone)
    {
        Round = round;
        if (over)
        {
            FinalModel = model;
            LogFinal(logger, round, model.Hex);
        }
        else
        {
            LogSynced(logger, kind, epochsDone, round, model.Short);
        }
    }

    internal void Reported(int epochsDone, Evaluation? evaluation)
    {
        if (evaluation is not null)
        {
            LogReported(logger, epochsDone, evaluation.Loss, evaluation.Metric);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "sync ({Kind}, {Epochs} epochs done): loaded the merged model of round {Round} ({Hash})")]
    private static partial void LogSynced(ILogger logger, SyncKind kind, int epochs, long round, string hash);

    [LoggerMessage(Level = LogLevel.Information, Message = "training over: final swarm model of round {Round} is {Hash}")]
    private static partial void LogFinal(ILogger logger, long round, string hash);

    [LoggerMessage(Level = LogLevel.Information, Message = "validation after {Epochs} epochs: loss {Loss:F4}, metric {Metric:F4}")]
    private static partial void LogReported(ILogger logger, int epochs, double loss, double metric);
}
