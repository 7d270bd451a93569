using System.Globalization;
using SwarmLearning.Core;

namespace SwarmLearning.Protocol.Attacks;

/// <summary>What a Byzantine node does to the model it checks in (or, for <see cref="LabelFlip"/>, to its data).</summary>
public enum AttackKind
{
    /// <summary>No attack: the honest row of a table.</summary>
    None,

    /// <summary>Checks in random parameters, each drawn from N(0, 1), whatever it trained.</summary>
    Gaussian,

    /// <summary>Checks in the last merged model minus <see cref="Attack.SignFlipScale"/> × its update: the update negated and scaled.</summary>
    SignFlip,

    /// <summary>Trains honestly on its images with every label y replaced by 9 − y; checks in what it trained.</summary>
    LabelFlip,

    /// <summary>
    /// "A little is enough" (Baruch et al., 2019): the attackers agree on the mean μ and standard deviation s of their
    /// honest updates, coordinate by coordinate, and all check in the last merged model + μ − z·s, a shift small enough
    /// to pass for honest that adds up over rounds.
    /// </summary>
    LittleIsEnough,
}

/// <summary>An attack on a swarm: its kind and how many nodes carry it out (`swarm simulate --attack KIND:COUNT`).</summary>
public sealed record Attack(AttackKind Kind, int Count)
{
    /// <summary>The sign-flip attacker's factor on its negated update.</summary>
    public const float SignFlipScale = 4f;

    /// <summary>The kinds as written on the command line, for help and errors.</summary>
    public const string Help = "none, gaussian:COUNT, signflip:COUNT, labelflip:COUNT, little-is-enough:COUNT";

    /// <summary>No attacker.</summary>
    public static Attack None { get; } = new(AttackKind.None, 0);

    /// <summary>The attack as written on the command line.</summary>
    public override string ToString() => Kind switch
    {
        AttackKind.None => "none",
        AttackKind.LittleIsEnough => $"little-is-enough:{Count}",
        _ => $"{Kind.ToString().ToLowerInvariant()}:{Count}",
    };

    /// <summary>Parses KIND:COUNT (or none); throws <see cref="SwarmException"/> saying what is accepted.</summary>
    public static Attack Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().ToLowerInvariant().Split(':', 2);
        if (parts[0] == "none" && parts.Length == 1)
        {
            return None;
        }
        var kind = parts[0] switch
        {
            "gaussian" => AttackKind.Gaussian,
            "signflip" => AttackKind.SignFlip,
            "labelflip" => AttackKind.LabelFlip,
            "little-is-enough" or "alie" => AttackKind.LittleIsEnough,
            _ => throw new SwarmException($"unknown attack '{text}'; use one of: {Help}"),
        };
        if (parts.Length < 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
        {
            throw new SwarmException($"attack '{text}' needs how many nodes attack, a whole number from 1: e.g. {parts[0]}:2");
        }
        return new Attack(kind, count);
    }

    /// <summary>Null when <paramref name="nodes"/> nodes can carry this attack and keep an honest node to measure, else what to change.</summary>
    public string? Problem(int nodes) =>
        Count >= nodes ? $"attack '{this}' makes {Count} of {nodes} nodes attackers; leave at least one honest node (node01 is measured)"
        : Kind == AttackKind.LittleIsEnough && Count < 2 ? $"attack '{this}' needs at least 2 attackers: they estimate the spread of honest updates from their own"
        : null;

    /// <summary>Whether node <paramref name="index"/> (0-based) of <paramref name="nodes"/> attacks: the last <see cref="Count"/> do.</summary>
    public bool IsAttacker(int index, int nodes) => Kind != AttackKind.None && index >= nodes - Count;
}
