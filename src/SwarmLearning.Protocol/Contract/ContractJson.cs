using System.Text.Json;
using System.Text.Json.Serialization;

namespace SwarmLearning.Protocol.Contract;

/// <summary>
/// The one JSON form of transactions and contract state, used on the wire (SN API) and on the chain. Deterministic for
/// a given state (sorted maps, ordered lists, enums as names), so its SHA-256 can serve as a state root.
/// </summary>
public static class ContractJson
{
    /// <summary>The serializer options.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
