namespace SwarmLearning.Protocol.Session;

/// <summary>Which of the callback's hooks a sync comes from.</summary>
public enum SyncKind
{
    /// <summary>on_train_begin: start from the swarm's common model.</summary>
    Initial = 1,

    /// <summary>on_batch_end at a sync point.</summary>
    Periodic = 2,

    /// <summary>on_train_end: the final merge; returns when every node has finished.</summary>
    Final = 3,
}

/// <summary>A request from the ML program that cannot be served as it is (a bad file, a bad field): say what is wrong.</summary>
public sealed class InvalidMlRequestException(string message) : Core.SwarmException(message);
