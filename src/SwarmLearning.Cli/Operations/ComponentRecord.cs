using System.Diagnostics;
using System.Text.Json;

namespace SwarmLearning.Cli.Operations;

/// <summary>A component started in the background: what `swarm ps`, `logs` and `stop` know of it ($SWARM_HOME/run/NAME.json).</summary>
internal sealed record ComponentRecord(string Name, int Pid, DateTimeOffset Started, string Log, IReadOnlyList<string> Arguments)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string Folder => SwarmHome.Of("run");

    public static string LogFolder => SwarmHome.Of("logs");

    public static string PathOf(string name) => Path.Combine(Folder, name + ".json");

    /// <summary>True while the process still runs (and is the one recorded: a reused pid started later does not count).</summary>
    public bool Alive
    {
        get
        {
            try
            {
                using var process = Process.GetProcessById(Pid);
                return !process.HasExited && process.StartTime.ToUniversalTime() <= Started.UtcDateTime.AddSeconds(5);
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }

    public void Save()
    {
        Directory.CreateDirectory(Folder);
        SwarmLearning.Identity.OwnerOnlyFile.WriteText(PathOf(Name), JsonSerializer.Serialize(this, Json));
    }

    public static IReadOnlyList<ComponentRecord> All() => Directory.Exists(Folder)
        ? [.. Directory.GetFiles(Folder, "*.json").Order(StringComparer.Ordinal).Select(f => JsonSerializer.Deserialize<ComponentRecord>(File.ReadAllText(f), Json)!)]
        : [];

    public static ComponentRecord? Find(string name) => File.Exists(PathOf(name)) ? JsonSerializer.Deserialize<ComponentRecord>(File.ReadAllText(PathOf(name)), Json) : null;

    public void Remove() => File.Delete(PathOf(Name));
}
