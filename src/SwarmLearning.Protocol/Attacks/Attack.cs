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

    /// <summary>Checks in sign-flipped models and, when it leads, publishes random parameters, N(0, 1) each.</summary>
    LeaderRandom,

    /// <summary>Checks in sign-flipped models and, when it leads, publishes a model whose every float is NaN.</summary>
    LeaderNaN,

    /// <summary>Checks in sign-flipped models and, when it leads, publishes their plain mean although the contract names a robust merge (under the mean: its own model).</summary>
    LeaderMean,

    /// <summary>Checks in sign-flipped models and, when it leads, merges only the attackers' models, claiming every honest one unreachable.</summary>
    LeaderExclude,

    /// <summary>As <see cref="LeaderExclude"/>, claiming every honest model invalid (a recomputably false claim).</summary>
    LeaderInvalid,

    /// <summary>Checks in sign-flipped models and, when it leads, never publishes: the round waits for the next leader.</summary>
    LeaderSilent,

    /// <summary>Trains honestly, but its file server sends its check-ins one byte at a time (a leader waiting for them stalls).</summary>
    Drip,

    /// <summary>Checks in sign-flipped models twice a round: on time, and the same model late for the round before.</summary>
    DoubleVote,

    /// <summary>Trains honestly, but as an auditor calls every honest leader's merge wrong and vouches for the other attackers' merges.</summary>
    AuditorLie,
}

/// <summary>An attack on a swarm: its kind and how many nodes carry it out (`swarm simulate --attack KIND:COUNT`).</summary>
public sealed record Attack(AttackKind Kind, int Count)
{
    /// <summary>The sign-flip attacker's factor on its negated update.</summary>
    public const float SignFlipScale = 4f;

    /// <summary>The kinds as written on the command line, for help and errors.</summary>
    public const string Help = "none, gaussian:COUNT, signflip:COUNT, labelflip:COUNT, little-is-enough:COUNT, leader-random:COUNT, leader-nan:COUNT, leader-mean:COUNT, leader-exclude:COUNT, leader-invalid:COUNT, leader-silent:COUNT, drip:COUNT, double-vote:COUNT, auditor-lie:COUNT";

    /// <summary>No attacker.</summary>
    public static Attack None { get; } = new(AttackKind.None, 0);

    /// <summary>The attack as written on the command line.</summary>
    public override string ToString() => Kind == AttackKind.None ? "none" : $"{NameOf(Kind)}:{Count}";

    /// <summary>The kind as written on the command line.</summary>
    public static string NameOf(AttackKind kind) => kind switch
    {
        AttackKind.LittleIsEnough => "little-is-enough",
        AttackKind.LeaderRandom => "leader-random",
        AttackKind.LeaderNaN => "leader-nan",
        AttackKind.LeaderMean => "leader-mean",
        AttackKind.LeaderExclude => "leader-exclude",
        AttackKind.LeaderInvalid => "leader-invalid",
        AttackKind.LeaderSilent => "leader-silent",
        AttackKind.DoubleVote => "double-vote",
        AttackKind.AuditorLie => "auditor-lie",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Whether the attackers' programs hand their nodes poisoned models (the sign-flipped ones of the leader attacks and double votes included).</summary>
    public AttackKind ProgramAttack => Kind switch
    {
        AttackKind.LeaderRandom or AttackKind.LeaderNaN or AttackKind.LeaderMean or AttackKind.LeaderExclude or AttackKind.LeaderInvalid or AttackKind.LeaderSilent
            or AttackKind.DoubleVote => AttackKind.SignFlip,
        AttackKind.Drip or AttackKind.AuditorLie => AttackKind.None,
        _ => Kind,
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
            "leader-random" => AttackKind.LeaderRandom,
            "leader-nan" => AttackKind.LeaderNaN,
            "leader-mean" => AttackKind.LeaderMean,
            "leader-exclude" => AttackKind.LeaderExclude,
            "leader-invalid" => AttackKind.LeaderInvalid,
            "leader-silent" => AttackKind.LeaderSilent,
            "drip" => AttackKind.Drip,
            "double-vote" => AttackKind.DoubleVote,
            "auditor-lie" => AttackKind.AuditorLie,
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
