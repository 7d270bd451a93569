using System.Net;
using System.Text;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// Every endpoint of the swarm against every kind of caller, on real processes (docs/security.md has the same table):
/// "tls" means the handshake is refused, a number is the HTTP status, "open"/"refused" a Raft connection.
/// </summary>
[Collection(SecuritySwarm.Collection)]
public sealed class AuthorizationMatrixTests(SecuritySwarm swarm)
{
    private static readonly string[] Callers = ["no certificate", "other CA", "admitted SN", "non-admitted SN", "SL", "nested SL path", "swci operator", "apls", "unknown path"];

    // One row per endpoint, one column per caller in the order above.
    private static readonly (string Endpoint, string[] Expected)[] Matrix =
    [
        ("identity admin over TCP (any casing)", ["refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused", "refused"]),
        ("SN API GET /v1/health", ["tls", "tls", "200", "200", "200", "200", "200", "tls", "tls"]),
        ("SN API POST /v1/keys", ["tls", "tls", "403", "403", "200", "200", "200", "tls", "tls"]),
        ("SN API POST /v1/alive as node1", ["tls", "tls", "403", "403", "404", "403", "403", "tls", "tls"]),
        ("SN file port GET /v1/chain/head", ["tls", "tls", "200", "403", "tls", "tls", "tls", "tls", "tls"]),
        ("SN file port GET /v1/health (API path)", ["tls", "tls", "404", "403", "tls", "tls", "tls", "tls", "tls"]),
        // Refused with the reason: the caller is not an active member of the node's contract (this node is in none yet).
        ("SL file server GET /v1/files/{hash}", ["tls", "tls", "tls", "tls", "403", "403", "tls", "tls", "tls"]),
        ("licence server POST /v1/seats", ["tls", "tls", "200", "200", "200", "403", "403", "403", "403"]),
        ("licence server POST /v1/licenses", ["tls", "tls", "403-denied", "403-denied", "403-denied", "403-denied", "403", "403-denied", "403-denied"]),
        ("Raft port (TLS)", ["refused", "refused", "open", "refused", "refused", "refused", "refused", "refused", "refused"]),
    ];

    [Fact]
    public async Task Every_endpoint_answers_every_caller_as_the_table_says()
    {
        var mismatches = new List<string>();
        foreach (var (endpoint, expected) in Matrix)
        {
            for (int i = 0; i < Callers.Length; i++)
            {
                string actual = await Probe(endpoint, swarm.Callers[Callers[i]], Callers[i]);
                if (actual != expected[i])
                {
                    mismatches.Add($"{endpoint} × {Callers[i]}: expected {expected[i]}, got {actual}");
                }
            }
        }
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }

    private async Task<string> Probe(string endpoint, ISvidSource? caller, string name)
    {
        if (endpoint.StartsWith("Raft", StringComparison.Ordinal))
        {
            return await swarm.RaftHandshake(caller, "sn1-ledger");
        }
        if (endpoint.StartsWith("identity admin", StringComparison.Ordinal))
        {
            return await AdminOverTcp(caller);
        }
        using var http = swarm.Client(caller);
        try
        {
            using var response = endpoint switch
            {
                "SN API GET /v1/health" => await http.GetAsync(swarm.Url("sn1-api", "/v1/health")),
                "SN API POST /v1/keys" => await http.PostAsync(swarm.Url("sn1-api", "/v1/keys"), Json($$"""{"publicKey":"{{NewKey()}}"}""")),
                "SN API POST /v1/alive as node1" => await http.PostAsync(swarm.Url("sn1-api", "/v1/alive"), Json("""{"contract":"none","nodeId":"node1"}""")),
                "SN file port GET /v1/chain/head" => await http.GetAsync(swarm.Url("sn1-files", "/v1/chain/head")),
                "SN file port GET /v1/health (API path)" => await http.GetAsync(swarm.Url("sn1-files", "/v1/health")),
                "SL file server GET /v1/files/{hash}" => await http.GetAsync(swarm.Url("sl-files", "/v1/files/" + new string('0', 64))),
                "licence server POST /v1/seats" => await http.PostAsync(swarm.Url("apls", "/v1/seats"), Json(name.Contains("SN", StringComparison.Ordinal) ? """{"component":"sn"}""" : """{"component":"sl"}""")),
                "licence server POST /v1/licenses" => await http.PostAsync(swarm.Url("apls", "/v1/licenses"), Json("""{"not":"a licence"}""")),
                _ => throw new ArgumentException(endpoint),
            };
            string body = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.Forbidden && body.Contains("may not install", StringComparison.Ordinal)
                ? "403-denied" : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return "tls";
        }
    }

    /// <summary>
    /// The identity server's admin calls sent over TCP by hand, in the casings gRPC routing would accept: none may
    /// answer with a token (issue 13, item 1: a lower-case path reached CreateJoinToken without a certificate).
    /// </summary>
    private async Task<string> AdminOverTcp(ISvidSource? caller)
    {
        using var http = swarm.Client(caller);
        foreach (string service in new[] { "swarm.identity.v1.IdentityAdmin", "swarm.identity.v1.identityadmin", "SWARM.IDENTITY.V1.IDENTITYADMIN", "swarm.identity.v1.identityAdmin" })
        {
            // CreateJoinTokenRequest { spiffe_id = "spiffe://swarm.local/sl/evil" (field 1), ttl_seconds = 600 (field 2) } as a gRPC frame.
            byte[] id = Encoding.UTF8.GetBytes("spiffe://swarm.local/sl/evil");
            byte[] message = [0x0A, (byte)id.Length, .. id, 0x10, 0xD8, 0x04];
            byte[] frame = [0, 0, 0, 0, (byte)message.Length, .. message];
            using var request = new HttpRequestMessage(HttpMethod.Post, $"https://{swarm.IdentityAddress}/{service}/CreateJoinToken")
            {
                Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = new ByteArrayContent(frame),
            };
            request.Content.Headers.ContentType = new("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            try
            {
                using var response = await http.SendAsync(request);
                byte[] body = await response.Content.ReadAsByteArrayAsync();
                string status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.First()
                    : response.Headers.TryGetValues("grpc-status", out var early) ? early.First() : "none";
                if (response.StatusCode == HttpStatusCode.OK && status == "0" || Encoding.UTF8.GetString(body).Contains("sjt.", StringComparison.Ordinal))
                {
                    return $"token minted via /{service}";
                }
            }
            catch (HttpRequestException)
            {
                // refused at the handshake: nothing was minted
            }
        }
        return "refused";
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static string NewKey()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        return ChainRules.PublicKeyOf(key);
    }
}
