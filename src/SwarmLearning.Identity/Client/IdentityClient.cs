using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Protocol;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Client;

/// <summary>
/// Talks to the identity server: attestation with a join token (first contact) and renewal with the current SVID.
/// The server is trusted through the bundle, which at first contact is checked against the token's CA fingerprint.
/// </summary>
/// <param name="address">host:port of the identity server.</param>
public sealed class IdentityClient(string address)
{
    private readonly Uri _uri = ParseAddress(address);

    /// <summary>Gets an SVID with a join token: fetches and checks the bundle, creates a key, attests; saves to <paramref name="folder"/>.</summary>
    /// <param name="token">The join token.</param>
    /// <param name="folder">Where the key, SVID and bundle go.</param>
    /// <param name="trustBundle">A bundle the node already trusts; needed when the token carries no CA fingerprint.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    public async Task<X509Certificate2> AttestAsync(JoinToken token, SvidFolder folder, TrustBundle? trustBundle = null, CancellationToken cancellationToken = default)
    {
        var bundle = trustBundle ?? await FetchPinnedBundleAsync(token.CaFingerprint
            ?? throw new Core.SwarmException("the join token carries no CA fingerprint: pass the full 'sjt.…' token, or the server's CA certificate with --trust-bundle"), cancellationToken);
        var (key, csr) = SvidMaterial.NewKeyAndRequest();
        using (key)
        {
            var response = await CallAsync(null, bundle, client => client.AttestAsync(new AttestRequest { JoinToken = token.Secret, Csr = ByteString.CopyFrom(csr) }, cancellationToken: cancellationToken).ResponseAsync);
            return Store(response, key, folder);
        }
    }

    /// <summary>Renews the SVID of <paramref name="current"/> with a new key; saves to <paramref name="folder"/>.</summary>
    public async Task<X509Certificate2> RenewAsync(ISvidSource current, SvidFolder folder, CancellationToken cancellationToken = default)
    {
        var (key, csr) = SvidMaterial.NewKeyAndRequest();
        using (key)
        {
            var response = await CallAsync(current, current.Bundle, client => client.RenewAsync(new RenewRequest { Csr = ByteString.CopyFrom(csr) }, cancellationToken: cancellationToken).ResponseAsync);
            return Store(response, key, folder);
        }
    }

    /// <summary>Fetches the bundle without trusting the connection, then accepts it only if its CA matches <paramref name="fingerprint"/>.</summary>
    public async Task<TrustBundle> FetchPinnedBundleAsync(string fingerprint, CancellationToken cancellationToken = default)
    {
        // Nothing is trusted yet: the channel accepts any server certificate, and the answer is trusted only if it
        // matches the fingerprint the operator handed over with the token.
        using var handler = new SocketsHttpHandler();
#pragma warning disable CA5359 // deliberate: the answer is checked against the pinned fingerprint below
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        using var channel = GrpcChannel.ForAddress(_uri, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        BundleResponse response;
        try
        {
            response = await new Protocol.Identity.IdentityClient(channel).GetBundleAsync(new BundleRequest(), cancellationToken: cancellationToken);
        }
        catch (RpcException e)
        {
            throw Explain(e, null);
        }
        var authorities = new X509Certificate2Collection();
        foreach (var der in response.Authorities)
        {
            var authority = X509CertificateLoader.LoadCertificate(der.Span);
            if (Convert.ToHexStringLower(SHA256.HashData(authority.RawData)) == fingerprint)
            {
                authorities.Add(authority);
            }
        }
        return authorities.Count > 0 ? new TrustBundle(authorities)
            : throw new Core.SwarmException($"the server at {_uri.Authority} offered a trust bundle that does not match the join token's CA fingerprint {fingerprint[..16]}…: it is another server (or something in between). Check the address");
    }

    private async Task<T> CallAsync<T>(ISvidSource? self, TrustBundle bundle, Func<Protocol.Identity.IdentityClient, Task<T>> call)
    {
        string? refusal = null;
        var serverId = SwarmIdentities.IdentityServer(TrustDomainOf(bundle));
        using var handler = MutualTls.Handler(self, PeerPolicy.Exactly(() => bundle, serverId), reason => refusal = reason);
        using var channel = GrpcChannel.ForAddress(_uri, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        try
        {
            return await call(new Protocol.Identity.IdentityClient(channel));
        }
        catch (RpcException e)
        {
            throw Explain(e, refusal);
        }
    }

    private X509Certificate2 Store(SvidResponse response, ECDsa key, SvidFolder folder)
    {
        using var leaf = X509CertificateLoader.LoadCertificate(response.Certificate.Span);
        var authorities = new X509Certificate2Collection();
        foreach (var der in response.Authorities)
        {
            authorities.Add(X509CertificateLoader.LoadCertificate(der.Span));
        }
        folder.Save(leaf, key, new TrustBundle(authorities));
        return SvidMaterial.WithKey(leaf, key);
    }

    private Core.SwarmException Explain(RpcException e, string? tlsRefusal) => e.StatusCode switch
    {
        StatusCode.Unavailable when tlsRefusal is not null => new Core.SwarmException($"the identity server at {_uri.Authority} was not trusted: {tlsRefusal}"),
        StatusCode.Unavailable => new Core.SwarmException($"cannot reach the identity server at {_uri.Authority} ({e.Status.Detail}): is `swarm run-spire-server` running there, and is the port open?"),
        _ => new IdentityCallException(e.StatusCode, $"the identity server at {_uri.Authority} refused: {e.Status.Detail}"),
    };

    private static string TrustDomainOf(TrustBundle bundle)
    {
        foreach (var authority in bundle.Authorities)
        {
            if (SvidCertificate.UriSans(authority) is [var uri, ..] && SpiffeId.TryParse(uri, out var id, out _))
            {
                return id.TrustDomain;
            }
        }
        throw new Core.SwarmException("the trust bundle's CA carries no SPIFFE trust domain (a URI SAN spiffe://<trust-domain>): is it the swarm's CA?");
    }

    private static Uri ParseAddress(string address)
    {
        string text = address.Contains("://", StringComparison.Ordinal) ? address : "https://" + address;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Port > 0
            ? new Uri($"https://{uri.Host}:{uri.Port}")
            : throw new Core.SwarmException($"identity server address '{address}' is not host:port (e.g. 127.0.0.1:8081)");
    }
}

/// <summary>Signals a refusal by the identity server; <see cref="Status"/> is the gRPC status.</summary>
public sealed class IdentityCallException(StatusCode status, string message) : Core.SwarmException(message)
{
    /// <summary>The gRPC status of the refusal.</summary>
    public StatusCode Status { get; } = status;
}
