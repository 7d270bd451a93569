namespace SwarmLearning.Core;

/// <summary>Signals a failure the user can act on; the message says what happened and what to do.</summary>
public class SwarmException : Exception
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public SwarmException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and its cause.</summary>
    public SwarmException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Signals a parameter file that is not a valid safetensors file, naming the file and the problem.</summary>
public sealed class ModelFileException(string message) : SwarmException(message);

/// <summary>Signals merge inputs that cannot be merged (mismatched tensors, non-finite values, bad weights).</summary>
public sealed class MergeException(string message) : SwarmException(message);
