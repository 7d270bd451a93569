using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Tls;

/// <summary>
/// Decides whether a TLS peer may talk to an endpoint: its certificate must chain to the trust bundle (never the
/// system store; hostnames play no part), be a valid X509-SVID, and carry a SPIFFE ID the endpoint allows.
/// </summary>
/// <param name="bundle">The trust bundle, read at each check so a new bundle applies at once.</param>
/// <param name="allows">Which SPIFFE IDs the endpoint accepts.</param>
/// <param name="description">What is allowed, in words, for refusal messages (e.g. "SL nodes (spiffe://td/sl/*)").</param>
/// <param name="time">Time for the validity check.</param>
public sealed class PeerPolicy(Func<TrustBundle> bundle, Func<SpiffeId, bool> allows, string description, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>What this policy allows, in words.</summary>
    public string Description => description;

    /// <summary>Accepts any SVID of the trust domain of <paramref name="source"/> whose path starts with one of <paramref name="prefixes"/>.</summary>
    public static PeerPolicy Under(ISvidSource source, params string[] prefixes) => new(
        () => source.Bundle,
        id => id.TrustDomain == source.Id.TrustDomain && prefixes.Any(id.IsUnder),
        string.Join(" or ", prefixes.Select(p => $"spiffe://{source.Id.TrustDomain}/{p}/*")));

    /// <summary>Accepts exactly <paramref name="id"/>.</summary>
    public static PeerPolicy Exactly(Func<TrustBundle> bundle, SpiffeId id) => new(bundle, peer => peer == id, id.ToString());

    /// <summary>Accepts any workload of the trust domain of <paramref name="source"/>.</summary>
    public static PeerPolicy AnyInDomain(ISvidSource source) => new(
        () => source.Bundle, id => id.TrustDomain == source.Id.TrustDomain, $"spiffe://{source.Id.TrustDomain}/*");

    /// <summary>Checks <paramref name="certificate"/>; returns the peer's ID, or null with <paramref name="reason"/> saying why not.</summary>
    public SpiffeId? Check(X509Certificate? certificate, out string? reason)
    {
        if (certificate is null)
        {
            reason = $"no client certificate; this endpoint needs an SVID of {description}";
            return null;
        }
        using var owned = certificate as X509Certificate2 is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        var leaf = owned ?? (X509Certificate2)certificate;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(bundle().Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(leaf))
        {
            string status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            reason = leaf.NotAfter.ToUniversalTime() < _time.GetUtcNow().UtcDateTime
                ? $"certificate '{leaf.Subject}' expired at {leaf.NotAfter.ToUniversalTime():u}; renew it (or get a new join token)"
                : $"certificate '{leaf.Subject}' does not chain to this swarm's trust bundle ({status})";
            return null;
        }
        if (SvidCertificate.LeafProblem(leaf, out var id) is { } problem)
        {
            reason = problem;
            return null;
        }
        if (!allows(id!))
        {
            reason = $"{id} may not use this endpoint; it accepts {description}";
            return null;
        }
        reason = null;
        return id;
    }
}
