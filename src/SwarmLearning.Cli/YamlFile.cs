using SwarmLearning.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Cli;

/// <summary>A YAML file an operator wrote (a config file, a project file): its root node, or a one-line error with the line.</summary>
internal static class YamlFile
{
    /// <summary>The first document's root, or null for an empty file.</summary>
    public static YamlNode? Load(string path, string what)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SwarmException($"cannot read the {what} {path}: {e.Message}");
        }
        catch (YamlException e)
        {
            throw new SwarmException($"{path} line {e.Start.Line}: not valid YAML ({e.Message})");
        }
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }
}
