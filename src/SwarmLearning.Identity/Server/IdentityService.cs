using Google.Protobuf;
using Grpc.Core;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Protocol;
using SwarmLearning.Identity.Tls;

namespace SwarmLearning.Identity.Server;

/// <summary>The public gRPC service: attestation with a join token, renewal over mTLS, the trust bundle.</summary>
internal sealed class IdentityService(IdentityAuthority authority, PeerPolicy renewers) : Protocol.Identity.IdentityBase
{
    public override Task<SvidResponse> Attest(AttestRequest request, ServerCallContext context) =>
        Answer(() => authority.Attest(request.JoinToken, request.Csr.ToByteArray(), context.Peer));

    public override Task<SvidResponse> Renew(RenewRequest request, ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        if (renewers.Check(certificate, out string? reason) is null)
        {
            authority.Audit.Write("refused", null, "renewal: " + reason, peer: context.Peer);
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                certificate is null ? "renewal needs the current SVID as the TLS client certificate; a node without one attests with a join token" : reason!));
        }
        return Answer(() => authority.Renew(certificate!, request.Csr.ToByteArray(), context.Peer));
    }

    public override Task<BundleResponse> GetBundle(BundleRequest request, ServerCallContext context) =>
        Task.FromResult(new BundleResponse
        {
            TrustDomain = authority.Ca.TrustDomain.TrustDomain,
            Authorities = { ByteString.CopyFrom(authority.Ca.Certificate.RawData) },
        });

    private Task<SvidResponse> Answer(Func<System.Security.Cryptography.X509Certificates.X509Certificate2> issue)
    {
        try
        {
            using var certificate = issue();
            return Task.FromResult(new SvidResponse
            {
                SpiffeId = Spiffe.SvidCertificate.LeafId(certificate).ToString(),
                Certificate = ByteString.CopyFrom(certificate.RawData),
                Authorities = { ByteString.CopyFrom(authority.Ca.Certificate.RawData) },
                ExpiresUnixMs = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToUnixTimeMilliseconds(),
            });
        }
        catch (IdentityRefusedException e)
        {
            throw new RpcException(new Status(e.Kind == RefusalKind.InvalidArgument ? StatusCode.InvalidArgument : StatusCode.PermissionDenied, e.Message));
        }
        catch (Core.SwarmException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }
}
