using System.Text.RegularExpressions;
using SwarmLearning.Core;
using SwarmLearning.Node;

namespace SwarmLearning.Cli.Node;

/// <summary>`run-sl --ml-e NAME=VALUE` (HPE's option of the same name): variables for the ML program's environment.</summary>
internal static partial class MlEnvironment
{
    /// <summary>The NAME=VALUE pairs in order; throws <see cref="SwarmException"/> naming the first bad one.</summary>
    public static IEnumerable<(string Name, string Value)> Parse(IEnumerable<string> settings)
    {
        foreach (string setting in settings)
        {
            int equals = setting.IndexOf('=', StringComparison.Ordinal);
            string name = equals < 0 ? setting : setting[..equals];
            if (equals < 0 || !VariableName().IsMatch(name))
            {
                throw new SwarmException($"--ml-e '{setting}': expected NAME=VALUE, NAME being letters, digits and _ (e.g. --ml-e MAX_EPOCHS=5)");
            }
            if (SlHost.NodeVariables.Contains(name, StringComparer.Ordinal))
            {
                throw new SwarmException($"--ml-e {name}: the node sets {name} itself (it tells the program how to reach the node); leave it out");
            }
            yield return (name, setting[(equals + 1)..]);
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();
}
