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

        app.MapPost("/v1/alive", async (HttpContext context) =>
        {
            var (request, error) = await RequestInput.ReadAsync<AliveRequest>(context, TransactionCheck.StrictJson);
            if (request is null)
            {
                return error!;
            }
            var caller = Caller(context);
            if (SwarmIdentities.SlNodeName(caller) is not { } node || node != request.NodeId)
            {
                return Results.Problem($"{caller} may not report liveness for '{request.NodeId}' (only spiffe://{caller.TrustDomain}/sl/{request.NodeId} may)", statusCode: StatusCodes.Status403Forbidden);
            }
            if (Ledger.State?.Registry.Contracts.GetValueOrDefault(request.Contract) is not { } contract || !contract.Nodes.ContainsKey(node))
            {
                return Results.Problem($"'{node}' is not registered in a contract named '{request.Contract}'", statusCode: StatusCodes.Status404NotFound);
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
            return Json(contract.Nodes.Values.Select(n => new NodeProgressInfo(n.NodeId, n.Byzantine is null ? n.Status.ToString() : "Byzantine", n.NodeId == leader, n.Progress?.Round,
                n.Progress?.Loss, n.Progress?.Metric, n.Progress?.EpochsDone, n.Progress?.TotalEpochs,
                _alive.TryGetValue((name, n.NodeId), out var seen) ? seen : null, n.Progress?.Epsilon,
                n.Byzantine is { } mark ? $"since round {mark.Round}: it {mark.Reason}" : null)).ToList());
        });

        app.MapPost("/v1/sn/join", async (HttpContext context) =>
        {
            var (request, error) = await RequestInput.ReadAsync<JoinRequest>(context, TransactionCheck.StrictJson);
            if (request is null)
            {
                return error!;
            }
            var caller = Caller(context);
            if (SwarmIdentities.SnName(caller) is null)
            {
                return Results.Problem($"{caller} may not join as an SN", statusCode: StatusCodes.Status403Forbidden);
            }
            if (!IPEndPoint.TryParse(request.RaftEndPoint, out var raftEndPoint))
            {
                return Results.Problem($"'{request.RaftEndPoint}' is not an IP address and port (e.g. 10.0.0.5:30303)", statusCode: StatusCodes.Status400BadRequest);
            }
            if (TransactionCheck.KeyProblem(request.LedgerKey) is { } keyProblem)
            {
                return RequestInput.Bad($"ledgerKey: {keyProblem}");
            }
            if (!IsHttpsUrl(request.ApiUrl) || (request.FileUrl is not null && !IsHttpsUrl(request.FileUrl)))
            {
                return RequestInput.Bad("apiUrl and fileUrl must be https URLs");
            }
            if (Ledger.State?.Keys.GetValueOrDefault(caller.ToString()) is { } known && known != request.LedgerKey)
            {
                return RequestInput.Refused("key-exists", $"{caller} is already on the chain with another ledger key; an SN's key never changes: give a new SN a new name", StatusCodes.Status409Conflict);
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

        app.MapPost("/v1/keys", async (HttpContext context) =>
        {
            var caller = Caller(context);
            if (_refusals.Exhausted(caller.ToString()))
            {
                return RefusalLimiter.TooMany(caller.ToString());
            }
            var (request, error) = await RequestInput.ReadAsync<KeyRequest>(context, TransactionCheck.StrictJson);
            if (request is null)
            {
                return Refuse(caller, error!);
            }
            if (TransactionCheck.KeyProblem(request.PublicKey) is { } problem)
            {
                return Refuse(caller, RequestInput.Bad($"publicKey: {problem}"));
            }
            if (SwarmIdentities.SnName(caller) is not null)
            {
                return Refuse(caller, RequestInput.Refused("not-allowed", $"{caller} is an SN: an SN's ledger key is registered once, when it joins, and never through this endpoint", StatusCodes.Status403Forbidden));
            }
            if (!Ledger.IsLeader)
            {
                await Ledger.ReadBarrierAsync(context.RequestAborted);
            }
            if (Ledger.State?.Keys.GetValueOrDefault(caller.ToString()) is { } known)
            {
                // Already there: answered without writing anything. Another key is refused: keys change only by rotation.
                return known == request.PublicKey
                    ? Json(new TxResult("", true, "already-registered", null, []))
                    : Refuse(caller, RequestInput.Refused("key-exists", $"{caller} already has another ledger key on the chain; it changes only by a rotate-key transaction signed with the old key, or by an operator with a reason", StatusCodes.Status409Conflict));
            }
            return await OnLeader(context, request, async () =>
                Json(await Ledger.SubmitAsSelfAsync(new RegisterKey(caller.ToString(), request.PublicKey), context.RequestAborted)));
        });

        app.MapPost("/v1/transactions", async (HttpContext context) =>
        {
            var caller = Caller(context);
            if (_refusals.Exhausted(caller.ToString()))
            {
                return RefusalLimiter.TooMany(caller.ToString());
            }
            var (transaction, error) = await RequestInput.ReadAsync<SignedTransaction>(context, TransactionCheck.StrictJson);
            if (transaction is null)
            {
                return Refuse(caller, error!);
            }
            if (TransactionCheck.Problem(transaction) is { } problem)
            {
                return Refuse(caller, RequestInput.Bad(problem));
            }
            if (transaction.Body.Sender != caller.ToString())
            {
                return Refuse(caller, Results.Problem($"the transaction's sender {transaction.Body.Sender} is not the caller {caller}: a node submits its own transactions",
                    statusCode: StatusCodes.Status403Forbidden));
            }
            if (Admission(transaction) is not null && !Ledger.IsLeader)
            {
                await Ledger.ReadBarrierAsync(context.RequestAborted); // a follower may lag: judge on what the leader has committed
            }
            if (Admission(transaction) is { } refused)
            {
                return Refuse(caller, refused);
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

    private SnHealth Health(SnOptions options)
    {
        List<string> stopped = [.. Ledger.StoppedLoops];
        if (_backfill.IsCompleted && !_stop.IsCancellationRequested && _backfill != Task.CompletedTask)
        {
            stopped.Add($"archive backfill: {_backfill.Exception?.InnerException?.Message ?? "ended"}");
        }
        return new(options.Identity.Id.ToString(), Ledger.State?.Height ?? -1, Ledger.State?.HeadHash,
            Ledger.IsLeader, Ledger.LeaderApiUrl, Ledger.State?.SnDirectory.Count ?? 0, Ledger.State?.Registry.Contracts.Count ?? 0,
            stopped.Count == 0 ? "ok" : "degraded", stopped, Ledger.Gap is { } gap ? $"blocks {gap.From} to {gap.To} are being fetched from other SNs" : null);
    }

    /// <summary>
    /// What the chain would refuse without a trace of it (no key, a bad signature, a spent nonce) is refused here
    /// instead, before anything is written: only transactions signed by a key on the chain reach a block.
    /// </summary>
    private IResult? Admission(SignedTransaction transaction)
    {
        var body = transaction.Body;
        var state = Ledger.State;
        if (state is null)
        {
            return Results.Problem("this SN has no chain yet; retry in a few seconds", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        if (body.ChainId != state.ChainId)
        {
            return RequestInput.Refused("wrong-chain", $"the transaction is for chain '{body.ChainId}', this is '{state.ChainId}'", StatusCodes.Status400BadRequest);
        }
        if (state.Keys.GetValueOrDefault(body.Sender) is not { } key)
        {
            return RequestInput.Refused("unknown-sender", $"{body.Sender} has no ledger key on the chain; register it first (POST /v1/keys)", StatusCodes.Status403Forbidden);
        }
        if (!transaction.IsSignedBy(key))
        {
            return RequestInput.Refused("bad-signature", $"the signature does not match {body.Sender}'s ledger key", StatusCodes.Status403Forbidden);
        }
        long last = state.Nonces.GetValueOrDefault(body.Sender);
        return body.Nonce <= last
            ? RequestInput.Refused("replayed", $"nonce {body.Nonce} of {body.Sender} is not above its last ({last}): a replay or a duplicate", StatusCodes.Status409Conflict)
            : null;
    }

    private IResult Refuse(SpiffeId caller, IResult refusal)
    {
        _refusals.Count(caller.ToString());
        return refusal;
    }

    private static bool IsHttpsUrl(string? value) => Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps;

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
