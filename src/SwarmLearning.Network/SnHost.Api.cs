using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Network;

/// <summary>The SN REST API (docs/sn-api.md).</summary>
public sealed partial class SnHost
{
    // Liveness as this SN saw it: heartbeats are frequent and decide nothing, so they stay off the chain.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Contract, string NodeId), DateTimeOffset> _alive = new();

    private void MapApi(WebApplication app, SnOptions options)
    {
        var changed = new ChangeSignal();
        Ledger.BlockApplied += (_, _) => changed.Pulse();

        app.MapOpenApi("/v1/openapi.json");
        app.MapGet("/v1/health", () => Json(Health(options)));

        app.MapPost("/v1/alive", (HttpContext context, AliveRequest request) =>
        {
            var caller = Caller(context);
            if (!caller.IsUnder(SwarmIdentities.SwarmLearning) || caller.Segments[^1] != request.NodeId)
            {
                return Results.Problem($"{caller} may not report liveness for '{request.NodeId}'", statusCode: StatusCodes.Status403Forbidden);
            }
            _alive[(request.Contract, request.NodeId)] = DateTimeOffset.UtcNow;
            return Results.NoContent();
        });

        app.MapGet("/v1/contracts/{name}/progress", (string name) =>
        {
            var contract = Ledger.State?.Registry.Contracts.GetValueOrDefault(name);
            if (contract is null)
            {
                return Results.Problem($"no contract named '{name}'", statusCode: StatusCodes.Status404NotFound);
            }
            var leader = contract.Round.CurrentLeader ?? contract.LatestMerged?.Leader;
            return Json(contract.Nodes.Values.Select(n => new NodeProgressInfo(n.NodeId, n.Status.ToString(), n.NodeId == leader, n.Progress?.Round,
                n.Progress?.Loss, n.Progress?.Metric, n.Progress?.EpochsDone, n.Progress?.TotalEpochs,
                _alive.TryGetValue((name, n.NodeId), out var seen) ? seen : null)).ToList());
        });

        app.MapPost("/v1/sn/join", async (HttpContext context, JoinRequest request) =>
        {
            var caller = Caller(context);
            if (!caller.IsUnder(SwarmIdentities.SwarmNetwork))
            {
                return Results.Problem($"{caller} may not join as an SN", statusCode: StatusCodes.Status403Forbidden);
            }
            if (!IPEndPoint.TryParse(request.RaftEndPoint, out var raftEndPoint))
            {
                return Results.Problem($"'{request.RaftEndPoint}' is not an IP address and port (e.g. 10.0.0.5:30303)", statusCode: StatusCodes.Status400BadRequest);
            }
            return await OnLeader(context, request, async () =>
            {
                try
                {
                    await Ledger.AdmitAsync(caller, request.LedgerKey, raftEndPoint, TimeSpan.FromSeconds(30), context.RequestAborted, request.ApiUrl, request.FileUrl);
                    return Results.Ok();
                }
                catch (Core.SwarmException e)
                {
                    return Results.Problem(e.Message, statusCode: StatusCodes.Status409Conflict);
                }
            });
        });

        app.MapPost("/v1/keys", async (HttpContext context, KeyRequest request) =>
        {
            var caller = Caller(context);
            return await OnLeader(context, request, async () =>
                Json(await Ledger.SubmitAsync(Ledger.SignAsSelf(new RegisterKey(caller.ToString(), request.PublicKey)), context.RequestAborted)));
        });

        app.MapPost("/v1/transactions", async (HttpContext context, SignedTransaction transaction) =>
        {
            var caller = Caller(context);
            if (transaction.Body.Sender != caller.ToString())
            {
                return Results.Problem($"the transaction's sender {transaction.Body.Sender} is not the caller {caller}: a node submits its own transactions",
                    statusCode: StatusCodes.Status403Forbidden);
            }
            return await OnLeader(context, transaction, async () => Json(await Ledger.SubmitAsync(transaction, context.RequestAborted)));
        });

        app.MapGet("/v1/contracts", () => Json(Ledger.State?.Registry.Contracts.Values.Select(Summary).ToList() ?? []));

        app.MapGet("/v1/contracts/{name}", async (string name, long? after, HttpContext context) =>
        {
            // Long-poll: with ?after=VERSION, answer when the contract's version passes it (or 204 after 30 s).
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(TimeSpan.FromSeconds(30));
            while (true)
            {
                var wait = changed.Next;
                var contract = Ledger.State?.Registry.Contracts.GetValueOrDefault(name);
                if (after is null || contract?.Version > after)
                {
                    return contract is null ? Results.Problem($"no contract named '{name}'", statusCode: StatusCodes.Status404NotFound) : Json(contract);
                }
                try
                {
                    await wait.WaitAsync(deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    return Results.NoContent();
                }
            }
        });

        app.MapGet("/v1/nodes", () => Json(Nodes()));
    }

    private SnHealth Health(SnOptions options) => new(options.Identity.Id.ToString(), Ledger.State?.Height ?? -1, Ledger.State?.HeadHash,
        Ledger.IsLeader, Ledger.LeaderApiUrl, Ledger.State?.SnDirectory.Count ?? 0, Ledger.State?.Registry.Contracts.Count ?? 0);

    private List<object> Nodes()
    {
        var state = Ledger.State;
        if (state is null)
        {
            return [];
        }
        var nodes = new List<object>();
        nodes.AddRange(state.SnDirectory.Values.Select(s => new { type = "SN", id = s.Identity, address = s.ApiUrl }));
        foreach (var contract in state.Registry.Contracts.Values)
        {
            nodes.AddRange(contract.Nodes.Values.Select(n => new
            {
                type = "SL", id = n.NodeId, address = n.Address, contract = contract.Name, status = n.Status.ToString(),
                lastAlive = _alive.TryGetValue((contract.Name, n.NodeId), out var seen) ? seen : (DateTimeOffset?)null,
            }));
        }
        return nodes;
    }

    private static ContractSummary Summary(ContractState c) =>
        new(c.Name, c.Status.ToString(), c.Version, c.Round.Number, c.Nodes.Count, c.History.Count);

    private static IResult Json(object value) => Results.Json(value, LedgerJson.Options, statusCode: StatusCodes.Status200OK);

    /// <summary>Wakes long-polls when a block is applied: each waiter gets the task of the next pulse.</summary>
    private sealed class ChangeSignal
    {
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Next => Volatile.Read(ref _next).Task;

        public void Pulse() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
