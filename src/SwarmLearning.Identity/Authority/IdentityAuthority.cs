using System.Security.Cryptography.X509Certificates;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Authority;

/// <summary>
/// What the identity server decides, without the network: join tokens (one-time, TTL-bound, bound to one SPIFFE ID),
/// attestation with a token, renewal by a holder of a current SVID, removal, and the audit trail. State is saved after
/// every change, before the answer leaves, so a crash cannot resurrect a used token.
/// </summary>
public sealed class IdentityAuthority : IDisposable
{
    private readonly string _statePath;
    private readonly AuthorityState _state;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    /// <summary>The longest a join token may live unless the server says otherwise (--max-token-ttl).</summary>
    public static readonly TimeSpan DefaultMaxTokenLifetime = TimeSpan.FromDays(7);

    /// <summary>Opens (or creates) the authority in <paramref name="directory"/> for <paramref name="trustDomain"/>.</summary>
    public IdentityAuthority(string directory, string trustDomain, TimeSpan svidLifetime, TimeProvider time, TimeSpan? maxTokenLifetime = null)
    {
        MaxTokenLifetime = maxTokenLifetime ?? DefaultMaxTokenLifetime;
        OwnerOnlyFile.CreateDirectory(directory);
        _time = time;
        Ca = CertificateAuthority.OpenOrCreate(directory, trustDomain, time);
        _statePath = Path.Combine(directory, "state.json");
        _state = AuthorityState.Load(_statePath);
        Audit = new AuditLog(Path.Combine(directory, "audit.log"), time);
        SvidLifetime = svidLifetime;
    }

    /// <summary>The certificate authority.</summary>
    public CertificateAuthority Ca { get; }

    /// <summary>The audit log.</summary>
    public AuditLog Audit { get; }

    /// <summary>How long an issued SVID is valid.</summary>
    public TimeSpan SvidLifetime { get; }

    /// <summary>The longest time to live a join token may be given.</summary>
    public TimeSpan MaxTokenLifetime { get; }

    /// <summary>Creates a one-time join token for <paramref name="id"/>, valid for <paramref name="ttl"/>.</summary>
    public JoinToken CreateJoinToken(SpiffeId id, TimeSpan ttl) => CreateJoinToken(id, ttl, out _);

    /// <summary>Creates a one-time join token for <paramref name="id"/>; <paramref name="expiresAt"/> is on the authority's clock.</summary>
    public JoinToken CreateJoinToken(SpiffeId id, TimeSpan ttl, out DateTimeOffset expiresAt)
    {
        CheckInDomain(id);
        if (ttl <= TimeSpan.Zero)
        {
            throw new IdentityRefusedException(RefusalKind.InvalidArgument, $"the token's time to live must be positive (got {ttl})");
        }
        if (ttl > MaxTokenLifetime)
        {
            throw new IdentityRefusedException(RefusalKind.InvalidArgument,
                $"a join token may live at most {MaxTokenLifetime.TotalHours:0.##} h (asked for {ttl.TotalHours:0.##} h): give a shorter --ttl, or start the server with a larger --max-token-ttl");
        }
        var token = JoinToken.Create(Ca.Fingerprint);
        expiresAt = _time.GetUtcNow() + ttl;
        lock (_gate)
        {
            // A removed ID stays removed until this token is used: only the new key it attests is admitted (docs/security.md).
            _state.Tokens[token.SecretHash] = new TokenRecord(id.ToString(), expiresAt);
            _state.Save(_statePath);
        }
        Audit.Write("token-created", id.ToString(), $"expires {expiresAt:O}");
        return token;
    }

    /// <summary>Issues an SVID to the holder of <paramref name="secret"/>, which is then spent.</summary>
    public X509Certificate2 Attest(string secret, byte[] csrDer, string? peer = null)
    {
        var hash = new JoinToken(secret, null).SecretHash;
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!_state.Tokens.TryGetValue(hash, out var token))
            {
                throw Refuse(RefusalKind.PermissionDenied, null, "unknown join token: it was never issued by this server (check the server address and copy the whole token)", peer);
            }
            if (token.UsedAt is { } used)
            {
                throw Refuse(RefusalKind.PermissionDenied, token.SpiffeId, $"join token for {token.SpiffeId} was already used at {used:u}; tokens are one-time: create a new one with `swarm identity token create --spiffe-id {token.SpiffeId}`", peer);
            }
            if (now >= token.ExpiresAt)
            {
                throw Refuse(RefusalKind.PermissionDenied, token.SpiffeId, $"join token for {token.SpiffeId} expired at {token.ExpiresAt:u}; create a new one with `swarm identity token create --spiffe-id {token.SpiffeId}`", peer);
            }
            var id = SpiffeId.Parse(token.SpiffeId);
            var certificate = IssueChecked(id, csrDer, now, peer);
            _state.Tokens[hash] = token with { UsedAt = now };
            _state.Identities[token.SpiffeId] = new IdentityRecord(now, certificate.SerialNumber, certificate.NotAfter, null,
                _state.Identities.TryGetValue(token.SpiffeId, out var before) ? before.Issued + 1 : 1);
            _state.Save(_statePath);
            Audit.Write("issued", token.SpiffeId, "join token", certificate.SerialNumber, peer);
            return certificate;
        }
    }

    /// <summary>Renews the SVID of <paramref name="caller"/>, whose chain the TLS layer has already verified.</summary>
    public X509Certificate2 Renew(X509Certificate2 caller, byte[] csrDer, string? peer = null)
    {
        var id = SvidCertificate.LeafId(caller);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (!_state.Identities.TryGetValue(id.ToString(), out var record))
            {
                throw Refuse(RefusalKind.PermissionDenied, id.ToString(), $"{id} is not registered with this server; attest with a join token first", peer);
            }
            if (record.RemovedAt is { } removed)
            {
                throw Refuse(RefusalKind.PermissionDenied, id.ToString(), $"{id} was removed at {removed:u}; an operator must create a new join token for it", peer);
            }
            if (!record.MayRenew(caller.SerialNumber))
            {
                throw Refuse(RefusalKind.PermissionDenied, id.ToString(), $"the certificate {caller.SerialNumber} of {id} is not its current one (it was replaced by a later attestation); attest with a new join token", peer);
            }
            var certificate = IssueChecked(id, csrDer, now, peer);
            _state.Identities[id.ToString()] = record with
            {
                LastSerial = certificate.SerialNumber, LastExpiresAt = certificate.NotAfter, Issued = record.Issued + 1, PreviousSerial = record.LastSerial,
            };
            _state.Save(_statePath);
            Audit.Write("renewed", id.ToString(), $"previous serial {caller.SerialNumber}", certificate.SerialNumber, peer);
            return certificate;
        }
    }

    /// <summary>Issues an SVID with its key, without a token: the server's own TLS credential.</summary>
    public X509Certificate2 IssueOwn(SpiffeId id)
    {
        var certificate = Ca.IssueCredential(id, SvidLifetime, _time.GetUtcNow());
        Audit.Write("issued-own", id.ToString(), null, certificate.SerialNumber);
        return certificate;
    }

    /// <summary>Removes <paramref name="id"/>: its next renewal is refused and its unused tokens are void.</summary>
    public bool Remove(SpiffeId id)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            bool known = _state.Identities.TryGetValue(id.ToString(), out var record);
            if (known)
            {
                _state.Identities[id.ToString()] = record! with { RemovedAt = now };
            }
            foreach (var (hash, token) in _state.Tokens.Where(t => t.Value.SpiffeId == id.ToString() && t.Value.UsedAt is null).ToList())
            {
                _state.Tokens[hash] = token with { ExpiresAt = now };
                known = true;
            }
            _state.Save(_statePath);
            Audit.Write(known ? "removed" : "remove-unknown", id.ToString());
            return known;
        }
    }

    /// <summary>Every identity the server has issued, with its status.</summary>
    public IReadOnlyList<IdentityEntry> List()
    {
        lock (_gate)
        {
            return [.. _state.Identities.Select(e => new IdentityEntry(e.Key, e.Value.RegisteredAt, e.Value.LastSerial, e.Value.LastExpiresAt, e.Value.RemovedAt, e.Value.Issued))];
        }
    }

    private X509Certificate2 IssueChecked(SpiffeId id, byte[] csrDer, DateTimeOffset now, string? peer)
    {
        try
        {
            return Ca.Issue(id, csrDer, SvidLifetime, now);
        }
        catch (CsrException e)
        {
            throw Refuse(RefusalKind.InvalidArgument, id.ToString(), e.Message, peer);
        }
    }

    private void CheckInDomain(SpiffeId id)
    {
        if (id.TrustDomain != Ca.TrustDomain.TrustDomain || id.IsTrustDomain)
        {
            throw new IdentityRefusedException(RefusalKind.InvalidArgument, $"'{id}' is not a workload ID in this server's trust domain '{Ca.TrustDomain.TrustDomain}': use spiffe://{Ca.TrustDomain.TrustDomain}/<sn|sl|swci>/<name>");
        }
    }

    private IdentityRefusedException Refuse(RefusalKind kind, string? id, string reason, string? peer)
    {
        Audit.Write("refused", id, reason, peer: peer);
        return new IdentityRefusedException(kind, reason);
    }

    /// <inheritdoc />
    public void Dispose() => Ca.Dispose();
}

/// <summary>An identity as listed to operators.</summary>
public sealed record IdentityEntry(string SpiffeId, DateTimeOffset RegisteredAt, string LastSerial, DateTimeOffset LastExpiresAt, DateTimeOffset? RemovedAt, int Issued);

/// <summary>Why the authority refused a request.</summary>
public enum RefusalKind
{
    /// <summary>The request itself is malformed.</summary>
    InvalidArgument,

    /// <summary>The caller may not have what it asked for.</summary>
    PermissionDenied,
}

/// <summary>Signals a refused identity request; the message says why and what to do.</summary>
public sealed class IdentityRefusedException(RefusalKind kind, string message) : Core.SwarmException(message)
{
    /// <summary>Why the request was refused.</summary>
    public RefusalKind Kind { get; } = kind;
}
