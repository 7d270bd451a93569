using Microsoft.Extensions.Logging;

namespace SwarmLearning.Protocol.Node;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "{Node}: registered in contract '{Contract}'")]
    public static partial void Registered(ILogger logger, string node, string contract);

    [LoggerMessage(2, LogLevel.Information, "{Node}: checked in model {Model} for round {Round}; waiting for the merge")]
    public static partial void CheckedIn(ILogger logger, string node, string model, long round);

    [LoggerMessage(3, LogLevel.Information, "{Node}: loaded merged model {Model} of round {Round}")]
    public static partial void Adopted(ILogger logger, string node, string model, long round);

    [LoggerMessage(4, LogLevel.Information, "{Node}: leading the merge of round {Round} ({Count} contributions, {Method})")]
    public static partial void Leading(ILogger logger, string node, long round, int count, string method);

    [LoggerMessage(5, LogLevel.Warning, "{Node}: left contribution {Key} out of round {Round}: {Reason}")]
    public static partial void Excluded(ILogger logger, string node, string key, long round, string reason);

    [LoggerMessage(6, LogLevel.Information, "{Node}: published merged model {Model} of round {Round} ({Note})")]
    public static partial void Published(ILogger logger, string node, string model, long round, string note);

    [LoggerMessage(7, LogLevel.Warning, "{Node}: merge of round {Round} failed: {Reason}; the next leader takes over after the timeout")]
    public static partial void MergeFailed(ILogger logger, string node, long round, string reason);

    [LoggerMessage(8, LogLevel.Information, "{Node}: behind the swarm (holds round {Held}, latest is {Latest}); {What}")]
    public static partial void Behind(ILogger logger, string node, long held, long latest, string what);

    [LoggerMessage(9, LogLevel.Warning, "{Node}: cannot fetch model {Model} from any peer yet ({Reason}); retrying")]
    public static partial void FetchFailed(ILogger logger, string node, string model, string reason);

    [LoggerMessage(10, LogLevel.Information, "{Node}: waiting at round {Round}: {Count} of minPeers {MinPeers} checked in")]
    public static partial void Waiting(ILogger logger, string node, long round, int count, int minPeers);

    [LoggerMessage(11, LogLevel.Information, "{Node}: training over; final model {Model}")]
    public static partial void TrainingOver(ILogger logger, string node, string model);

    [LoggerMessage(12, LogLevel.Information, "{Node}: finished its epochs; staying in the swarm as '{Policy}' until every node is done")]
    public static partial void Finished(ILogger logger, string node, string policy);

    [LoggerMessage(13, LogLevel.Warning, "{Node}: merged model {Model} of round {Round} was lost with its leader; the round is merged again")]
    public static partial void MergeReopened(ILogger logger, string node, string model, long round);

    [LoggerMessage(40, LogLevel.Warning, "{Node}: no model of round {Round} could be merged (each was left out, or merging them overflowed); the last merged model {Model} carries over")]
    public static partial void CarriedOver(ILogger logger, string node, long round, string model);

    [LoggerMessage(41, LogLevel.Warning, "{Node}: round {Round} has {Models} usable models but {Method} needs {Needed}; merged by the coordinate median instead")]
    public static partial void FellBack(ILogger logger, string node, long round, string method, int models, int needed);

    [LoggerMessage(42, LogLevel.Information, "{Node}: auditing the merge {Model} of round {Round} by '{Leader}' (recomputing it from its inputs)")]
    public static partial void Auditing(ILogger logger, string node, string model, long round, string leader);

    [LoggerMessage(43, LogLevel.Information, "{Node}: verdict on round {Round}: {Finding}{Detail}")]
    public static partial void Judged(ILogger logger, string node, long round, string finding, string detail);

    [LoggerMessage(44, LogLevel.Warning, "{Node}: will not load merged model {Model} of round {Round}: {Problem}; disputed it and waiting for its audit")]
    public static partial void Disputed(ILogger logger, string node, string model, long round, string problem);

    [LoggerMessage(45, LogLevel.Warning, "{Node}: the merged model {Model} of round {Round} it trained from was rejected by its audit; loading the round's new merge (the training since is dropped)")]
    public static partial void RolledBack(ILogger logger, string node, string model, long round);

    [LoggerMessage(46, LogLevel.Warning, "{Node}: audit of round {Round} failed: {Reason}")]
    public static partial void AuditFailed(ILogger logger, string node, long round, string reason);
}
