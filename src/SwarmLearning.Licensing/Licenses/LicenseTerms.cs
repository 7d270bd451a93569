namespace SwarmLearning.Licensing.Licenses;

/// <summary>What a licence grants: <paramref name="Seats"/> components (SNs and SLs) at once, between two dates.</summary>
/// <param name="Id">The licence's id, unique per issuer.</param>
/// <param name="Licensee">Who it is issued to.</param>
/// <param name="Features">What it covers (e.g. "swarm-learning").</param>
/// <param name="Seats">How many components may hold a seat at the same time.</param>
/// <param name="NotBefore">Valid from.</param>
/// <param name="NotAfter">Valid until (exclusive).</param>
public sealed record LicenseTerms(string Id, string Licensee, IReadOnlyList<string> Features, int Seats, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    /// <summary>
    /// Terms valid from a few minutes before <paramref name="now"/> (clock skew between hosts) for <paramref name="days"/>
    /// days, with a generated id (lic-DATE-RANDOM) unless one is given.
    /// </summary>
    public static LicenseTerms ForDays(string licensee, IReadOnlyList<string> features, int seats, int days, DateTimeOffset now, string? id = null) =>
        new(id ?? "lic-" + now.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8],
            licensee, features, seats, now.AddMinutes(-5), now.AddDays(days));

    /// <summary>Null when the terms make sense, else what is wrong.</summary>
    public string? Problem() =>
        string.IsNullOrWhiteSpace(Id) || Id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) ? $"the licence id '{Id}' must be letters, digits, '-', '_' or '.'"
        : string.IsNullOrWhiteSpace(Licensee) ? "the licensee is empty"
        : Seats < 1 ? $"a licence needs at least one seat (got {Seats})"
        : NotAfter <= NotBefore ? $"the licence ends ({NotAfter:u}) before it starts ({NotBefore:u})"
        : null;
}
