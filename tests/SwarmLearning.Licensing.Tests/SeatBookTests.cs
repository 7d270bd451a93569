using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using SwarmLearning.Licensing.Licenses;
using SwarmLearning.Licensing.Server;

namespace SwarmLearning.Licensing.Tests;

public sealed class SeatBookTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "swarm-seats-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly ECDsa _issuer;

    public SeatBookTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "issuers"));
        _issuer = IssuerKeys.OpenOrCreateSigningKey(Path.Combine(_root, "issuers", "issuer.key"));
    }

    private SeatBook Open() => new(Path.Combine(_root, "apls"), IssuerKeys.Load(Path.Combine(_root, "issuers")), TimeSpan.FromSeconds(30), _time);

    private string Licence(int seats = 2, int days = 30, string id = "lic-1", int startsInDays = 0) => LicenseFile.Issue(
        new LicenseTerms(id, "Hospital A", ["swarm-learning"], seats, _time.GetUtcNow().AddDays(startsInDays - 1), _time.GetUtcNow().AddDays(days)), _issuer).ToJson();

    [Fact]
    public void Seats_are_given_up_to_the_count_then_refused_without_naming_the_holders()
    {
        var book = Open();
        book.Install(Licence(seats: 2), "lic.json");
        var first = book.Checkout("spiffe://swarm.local/sn/sn1", "sn");
        book.Checkout("spiffe://swarm.local/sl/node1", "sl");
        var refused = Assert.Throws<LicenseException>(() => book.Checkout("spiffe://swarm.local/sl/node2", "sl"));
        Assert.Contains("all 2 seats are taken", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("spiffe://", refused.Message, StringComparison.Ordinal);

        // The same holder asking again (a restarted component) gets its own seat back, not a second one.
        Assert.Equal(first.LeaseId, book.Checkout("spiffe://swarm.local/sn/sn1", "sn").LeaseId);
        Assert.True(book.Release(first.LeaseId, "spiffe://swarm.local/sn/sn1"));
        book.Checkout("spiffe://swarm.local/sl/node2", "sl");
    }

    [Fact]
    public void A_crashed_holders_seat_comes_back_when_its_lease_lapses_and_renewal_keeps_it()
    {
        var book = Open();
        book.Install(Licence(seats: 1), "lic.json");
        var kept = book.Checkout("spiffe://swarm.local/sn/sn1", "sn");
        _time.Advance(TimeSpan.FromSeconds(20));
        book.Renew(kept.LeaseId, "spiffe://swarm.local/sn/sn1", "sn");
        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Throws<LicenseException>(() => book.Checkout("spiffe://swarm.local/sn/sn2", "sn")); // renewed: still held

        _time.Advance(TimeSpan.FromSeconds(11)); // no renewal for 31 s: the lease lapsed
        Assert.Equal("spiffe://swarm.local/sn/sn2", book.Checkout("spiffe://swarm.local/sn/sn2", "sn").Holder);
    }

    [Fact]
    public void Leases_survive_a_restart_of_the_server()
    {
        Open().Install(Licence(seats: 1), "lic.json");
        Open().Checkout("spiffe://swarm.local/sn/sn1", "sn");
        Assert.Throws<LicenseException>(() => Open().Checkout("spiffe://swarm.local/sn/sn2", "sn"));
    }

    [Fact]
    public void No_licence_expired_and_not_yet_valid_each_say_what_to_do()
    {
        var book = Open();
        Assert.Contains("no licence is installed", Assert.Throws<LicenseException>(() => book.Checkout("spiffe://swarm.local/sn/sn1", "sn")).Message, StringComparison.Ordinal);

        book.Install(Licence(days: 2), "lic.json");
        _time.Advance(TimeSpan.FromDays(3));
        var expired = Assert.Throws<LicenseException>(() => book.Checkout("spiffe://swarm.local/sn/sn1", "sn"));
        Assert.Contains("licence lic-1 expired on 2026-11-26", expired.Message, StringComparison.Ordinal);
        Assert.Contains("expired on", Assert.Throws<LicenseException>(() => book.Install(Licence(days: -1, id: "lic-old", startsInDays: -2), "old.json")).Message, StringComparison.Ordinal);

        book.Install(Licence(id: "lic-2", startsInDays: 10), "future.json");
        Assert.Contains("valid only from", Assert.Throws<LicenseException>(() => book.Checkout("spiffe://swarm.local/sn/sn1", "sn")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_altered_file_or_an_unknown_issuer_is_refused_and_an_altered_installed_file_is_not_used()
    {
        var book = Open();
        string text = Licence(seats: 1);
        var file = LicenseFile.Parse(text, "x");
        string moreSeats = Convert.ToBase64String(Convert.FromBase64String(file.Terms).Select(b => b == (byte)'1' ? (byte)'9' : b).ToArray());
        var altered = Assert.Throws<LicenseException>(() => book.Install((file with { Terms = moreSeats }).ToJson(), "altered.json"));
        Assert.Contains("signature does not verify", altered.Message, StringComparison.Ordinal);

        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var unknown = Assert.Throws<LicenseException>(() => book.Install(LicenseFile.Issue(LicenseFile.Parse(text, "x").Verify(IssuerKeys.Load(Path.Combine(_root, "issuers")), "x"), stranger).ToJson(), "stranger.json"));
        Assert.Contains("does not trust", unknown.Message, StringComparison.Ordinal);

        book.Install(text, "lic.json");
        string installed = Directory.GetFiles(Path.Combine(_root, "apls", "licenses")).Single();
        File.WriteAllText(installed, (file with { Terms = moreSeats }).ToJson());
        var listed = Assert.Single(book.Licenses());
        Assert.Contains("signature does not verify", listed.Problem, StringComparison.Ordinal);
        Assert.Contains("cannot be used", Assert.Throws<LicenseException>(() => book.Checkout("spiffe://swarm.local/sn/sn1", "sn")).Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _issuer.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
