using System.CommandLine;
using SwarmLearning.Core;

namespace SwarmLearning.Cli;

/// <summary>
/// Where a join token comes from: --join-token (visible to other users in the process list while the command runs:
/// for a quick local try), --join-token-file (owner-only file), or the SWARM_JOIN_TOKEN environment variable. A
/// command that goes to the background passes it to its own process in that variable, never on a command line, and
/// the variable is cleared once read so programs the component starts do not inherit it (docs/security.md).
/// </summary>
internal static class JoinTokenInput
{
    public const string Variable = "SWARM_JOIN_TOKEN";

    public static Option<string?> ValueOption(string description) => new("--join-token")
    {
        Description = $"{description}; prefer --join-token-file or ${Variable}, which stay out of the process list",
    };

    public static Option<string?> FileOption() => new("--join-token-file") { Description = $"read the join token from this file (or set ${Variable})" };

    /// <summary>The token given by option, file or environment (in that order), or null; clears the variable.</summary>
    public static string? Resolve(string? value, string? file)
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(Variable);
        Environment.SetEnvironmentVariable(Variable, null);
        if (value is not null)
        {
            return value;
        }
        if (file is not null)
        {
            try
            {
                return File.ReadAllText(file).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SwarmException($"cannot read the join token file {file}: {e.Message}");
            }
        }
        return string.IsNullOrWhiteSpace(fromEnvironment) ? null : fromEnvironment.Trim();
    }

    /// <summary>
    /// Takes --join-token VALUE (or --join-token=VALUE) out of <paramref name="arguments"/>; returns the value, which
    /// the caller hands to the child process in <see cref="Variable"/>.
    /// </summary>
    public static string? Extract(List<string> arguments)
    {
        string? token = null;
        for (int i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == "--join-token" && i + 1 < arguments.Count)
            {
                token = arguments[i + 1];
                arguments.RemoveRange(i, 2);
                i--;
            }
            else if (arguments[i].StartsWith("--join-token=", StringComparison.Ordinal))
            {
                token = arguments[i]["--join-token=".Length..];
                arguments.RemoveAt(i);
                i--;
            }
        }
        return token;
    }
}
