using Grpc.Core;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Protocol;
using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Server;

/// <summary>The operator's gRPC service, on the owner-only Unix socket: join tokens, removal, listing.</summary>
internal sealed class AdminService(IdentityAuthority authority) : IdentityAdmin.IdentityAdminBase
{
    public override Task<CreateJoinTokenResponse> CreateJoinToken(CreateJoinTokenRequest request, ServerCallContext context) => Guard(() =>
    {
        var ttl = request.TtlSeconds is > 0 and < 10L * 365 * 24 * 3600 ? TimeSpan.FromSeconds(request.TtlSeconds)
            : throw new Core.SwarmException($"ttl_seconds {request.TtlSeconds} is out of range: give a positive number of seconds");
        var token = authority.CreateJoinToken(SpiffeId.Parse(request.SpiffeId), ttl, out var expiresAt);
        return new CreateJoinTokenResponse { Token = token.ToString(), ExpiresUnixMs = expiresAt.ToUnixTimeMilliseconds() };
    });

    public override Task<RemoveIdentityResponse> RemoveIdentity(RemoveIdentityRequest request, ServerCallContext context) =>
        Guard(() => new RemoveIdentityResponse { Known = authority.Remove(SpiffeId.Parse(request.SpiffeId)) });

    public override Task<ListIdentitiesResponse> ListIdentities(ListIdentitiesRequest request, ServerCallContext context) => Guard(() =>
    {
        var response = new ListIdentitiesResponse();
        foreach (var entry in authority.List())
        {
            response.Identities.Add(new IdentityInfo
            {
                SpiffeId = entry.SpiffeId,
                RegisteredUnixMs = entry.RegisteredAt.ToUnixTimeMilliseconds(),
                LastSerial = entry.LastSerial,
                LastExpiresUnixMs = entry.LastExpiresAt.ToUnixTimeMilliseconds(),
                RemovedUnixMs = entry.RemovedAt?.ToUnixTimeMilliseconds() ?? 0,
                Issued = entry.Issued,
            });
        }
        return response;
    });

    private static Task<T> Guard<T>(Func<T> action)
    {
        try
        {
            return Task.FromResult(action());
        }
        catch (Core.SwarmException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }
}
