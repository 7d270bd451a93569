using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace SwarmLearning.Identity.Tls;

/// <summary>
/// Wires an <see cref="ISvidSource"/> and a <see cref="PeerPolicy"/> into Kestrel (server side) and into
/// <see cref="SocketsHttpHandler"/> (client side). Both read the current SVID at each handshake, so rotation needs no
/// restart; connections already up keep the certificate they started with. Every component speaks TLS 1.3 only
/// (AEAD suites, forward secrecy): all of them are ours, so nothing older needs to be offered (docs/security.md).
/// </summary>
public static class MutualTls
{
    /// <summary>The one protocol version between our components.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls13;

    /// <summary>Serves with the current SVID and checks every client certificate against <paramref name="clients"/>.</summary>
    /// <param name="https">Kestrel's HTTPS options for the endpoint.</param>
    /// <param name="source">This server's identity.</param>
    /// <param name="clients">Who may connect.</param>
    /// <param name="requireClientCertificate">False only where callers without an SVID are expected (the identity server's attestation).</param>
    /// <param name="logger">Logs refused peers.</param>
    public static void UseSvid(this HttpsConnectionAdapterOptions https, ISvidSource source, PeerPolicy clients, bool requireClientCertificate = true, ILogger? logger = null)
    {
        https.SslProtocols = Protocols;
        https.ServerCertificateSelector = (_, _) => source.Current;
        https.ClientCertificateMode = requireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
        https.CheckCertificateRevocation = false;
        https.ClientCertificateValidation = (certificate, _, _) =>
        {
            if (clients.Check(certificate, out string? reason) is not null)
            {
                return true;
            }
            logger?.LogWarning("refused a TLS client: {Reason}", reason);
            return false;
        };
    }

    /// <summary>A handler that presents the current SVID and accepts only servers allowed by <paramref name="servers"/>.</summary>
    /// <param name="source">This client's identity, or null to connect without a client certificate.</param>
    /// <param name="servers">Which servers to trust.</param>
    /// <param name="refused">Receives the reason when a server is refused (for error messages).</param>
    public static SocketsHttpHandler Handler(ISvidSource? source, PeerPolicy servers, Action<string>? refused = null)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            EnableMultipleHttp2Connections = true,
        };
        handler.SslOptions.EnabledSslProtocols = Protocols;
        handler.SslOptions.CertificateRevocationCheckMode = X509RevocationMode.NoCheck;
        if (source is not null)
        {
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => source.Current;
        }
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (servers.Check(certificate, out string? reason) is not null)
            {
                return true;
            }
            refused?.Invoke(reason!);
            return false;
        };
        return handler;
    }
}
