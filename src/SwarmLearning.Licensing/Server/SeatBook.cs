using System.Text.Json;
using SwarmLearning.Identity;
using SwarmLearning.Licensing.Licenses;

namespace SwarmLearning.Licensing.Server;

/// <summary>A seat held by a component until <paramref name="ExpiresAt"/> unless renewed.</summary>
public sealed record SeatLease(string LeaseId, string Holder, string Component, string LicenseId, DateTimeOffset ExpiresAt);

/// <summary>An installed licence as the server sees it: its terms, or why it cannot be used.</summary>
public sealed record InstalledLicense(string File, LicenseTerms? Terms, string? Problem, int SeatsInUse);

/// <summary>
/// The licence server's state: installed licences (files in <c>licenses/</c>, checked against the trusted issuers
/// on every load) and seat leases (<c>seats.json</c>, written atomically before each answer, so a restart keeps them).
/// A holder (a SPIFFE ID) holds at most one seat; asking again renews it, so a restarted component gets its seat back.
/// A lease not renewed within its time to live frees its seat.
/// </summary>
public sealed class SeatBook
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _gate = new();
    private readonly string _directory;
    private readonly IssuerKeys _issuers;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, SeatLease> _leases;

    /// <summary>Opens the state in <paramref name="directory"/>.</summary>
    public SeatBook(string directory, IssuerKeys issuers, TimeSpan leaseTime, TimeProvider time)
    {
        _directory = directory;
        _issuers = issuers;
        _time = time;
        LeaseTime = leaseTime;
        OwnerOnlyFile.CreateDirectory(directory);
        OwnerOnlyFile.CreateDirectory(LicenseDirectory);
        _leases = File.Exists(SeatsPath)
            ? JsonSerializer.Deserialize<List<SeatLease>>(File.ReadAllText(SeatsPath), Json)!.ToDictionary(l => l.LeaseId)
            : [];
    }

    /// <summary>How long a lease lasts without renewal.</summary>
    public TimeSpan LeaseTime { get; }

    private string LicenseDirectory => Path.Combine(_directory, "licenses");

    private string SeatsPath => Path.Combine(_directory, "seats.json");

    /// <summary>Verifies and installs a licence file; returns its terms.</summary>
    public LicenseTerms Install(string text, string source)
    {
        var file = LicenseFile.Parse(text, source);
        var terms = file.Verify(_issuers, source);
        if (terms.NotAfter <= _time.GetUtcNow())
        {
            throw new LicenseException($"{source}: licence {terms.Id} expired on {terms.NotAfter:yyyy-MM-dd}; ask the issuer for a renewed licence");
        }
        lock (_gate)
        {
            OwnerOnlyFile.WriteText(Path.Combine(LicenseDirectory, terms.Id + ".lic"), file.ToJson());
        }
        return terms;
    }

    /// <summary>Every installed licence, each checked again (a file changed on disk shows as a problem).</summary>
    public IReadOnlyList<InstalledLicense> Licenses()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            Expire(now);
            return [.. Directory.GetFiles(LicenseDirectory, "*.lic").Order(StringComparer.Ordinal).Select(path =>
            {
                try
                {
                    var terms = LicenseFile.Parse(File.ReadAllText(path), path).Verify(_issuers, path);
                    return new InstalledLicense(path, terms, null, _leases.Values.Count(l => l.LicenseId == terms.Id));
                }
                catch (LicenseException e)
                {
                    return new InstalledLicense(path, null, e.Message, 0);
                }
            })];
        }
    }

    /// <summary>Gives <paramref name="holder"/> a seat (its own again if it holds one), or throws saying why not.</summary>
    public SeatLease Checkout(string holder, string component)
    {
        var licenses = Licenses();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var held = _leases.Values.FirstOrDefault(l => l.Holder == holder);
            if (held is not null && licenses.Any(l => l.Terms?.Id == held.LicenseId && Usable(l.Terms, now)))
            {
                return Save(held with { ExpiresAt = now + LeaseTime, Component = component });
            }
            if (held is not null)
            {
                _leases.Remove(held.LeaseId); // its licence expired or was removed: look for another
            }
            var valid = licenses.Where(l => l.Terms is not null).Select(l => l.Terms!).ToList();
            if (valid.Count == 0)
            {
                string broken = licenses.FirstOrDefault(l => l.Problem is not null)?.Problem is { } p ? $" (an installed file cannot be used: {p})" : "";
                throw new LicenseException($"no licence is installed on this licence server{broken}: install one with `swarm license install FILE`");
            }
            var current = valid.Where(t => Usable(t, now)).ToList();
            if (current.Count == 0)
            {
                var last = valid.MaxBy(t => t.NotAfter)!;
                throw last.NotAfter <= now
                    ? new LicenseException($"licence {last.Id} expired on {last.NotAfter:yyyy-MM-dd}; install a renewed licence")
                    : new LicenseException($"licence {last.Id} is valid only from {last.NotBefore:yyyy-MM-dd}");
            }
            foreach (var terms in current.OrderBy(t => t.NotAfter))
            {
                if (_leases.Values.Count(l => l.LicenseId == terms.Id) < terms.Seats)
                {
                    return Save(new SeatLease(Guid.NewGuid().ToString("N"), holder, component, terms.Id, now + LeaseTime));
                }
            }
            // Who holds the seats is for operators (GET /v1/seats as spiffe://TD/swci/*), not for whoever was refused.
            int seats = current.Sum(t => t.Seats);
            var freed = _leases.Values.Min(l => l.ExpiresAt);
            throw new LicenseException($"all {seats} seats are taken; the next lease that is not renewed lapses at {freed:HH:mm:ss} UTC. " +
                "`swarm license list` on the licence server's host shows the holders; stop one of them, or install a licence with more seats");
        }
    }

    /// <summary>Extends <paramref name="leaseId"/>; a lapsed lease is taken again if a seat is free.</summary>
    public SeatLease Renew(string leaseId, string holder, string component)
    {
        lock (_gate)
        {
            Expire(_time.GetUtcNow());
            if (_leases.TryGetValue(leaseId, out var lease) && lease.Holder == holder)
            {
                return Save(lease with { ExpiresAt = _time.GetUtcNow() + LeaseTime });
            }
        }
        return Checkout(holder, component);
    }

    /// <summary>Returns a seat; false if <paramref name="holder"/> did not hold it.</summary>
    public bool Release(string leaseId, string holder)
    {
        lock (_gate)
        {
            if (!_leases.TryGetValue(leaseId, out var lease) || lease.Holder != holder)
            {
                return false;
            }
            _leases.Remove(leaseId);
            Persist();
            return true;
        }
    }

    /// <summary>The live leases.</summary>
    public IReadOnlyList<SeatLease> Leases()
    {
        lock (_gate)
        {
            Expire(_time.GetUtcNow());
            return [.. _leases.Values.OrderBy(l => l.Holder, StringComparer.Ordinal)];
        }
    }

    private static bool Usable(LicenseTerms? terms, DateTimeOffset now) => terms is not null && terms.NotBefore <= now && now < terms.NotAfter;

    private void Expire(DateTimeOffset now)
    {
        var lapsed = _leases.Values.Where(l => l.ExpiresAt <= now).ToList();
        foreach (var lease in lapsed)
        {
            _leases.Remove(lease.LeaseId);
        }
        if (lapsed.Count > 0)
        {
            Persist();
        }
    }

    private SeatLease Save(SeatLease lease)
    {
        _leases[lease.LeaseId] = lease;
        Persist();
        return lease;
    }

    private void Persist() => OwnerOnlyFile.WriteText(SeatsPath, JsonSerializer.Serialize(_leases.Values.ToList(), Json));
}
