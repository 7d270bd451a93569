using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using SwarmLearning.Core;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Network;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Cli.Swci;

/// <summary>
/// `swarm swci`: the command interface, in the spirit of HPE's SWCI: contexts (which SN, as which operator), training
/// contracts (create, list, status, reset), PERFDATA, LIST NODES, WAIT FOR an SN, and scripts of these commands.
/// </summary>
internal static class SwciCommands
{
    public static Command Create()
    {
        var swci = new Command("swci", "the command interface: contexts, training contracts, PERFDATA, nodes, scripts");
        swci.Subcommands.Add(Context());
        swci.Subcommands.Add(Contract());
        swci.Subcommands.Add(Perfdata());
        swci.Subcommands.Add(Nodes());
        swci.Subcommands.Add(WaitFor());
        swci.Subcommands.Add(Script(swci));
        return swci;
    }

    private static Command Context()
    {
        var name = new Argument<string>("name") { Description = "the context's name; the operator identity is spiffe://<trust-domain>/swci/<name>" };
        var sns = new Option<string[]>("--sn") { Description = "SN API host:port (repeat for fail-over)", Required = true };
        var identityServer = new Option<string>("--identity-server") { Description = "identity server host:port", DefaultValueFactory = _ => "127.0.0.1:8081" };
        var joinToken = JoinTokenInput.ValueOption("one-time token for spiffe://<trust-domain>/swci/<name>");
        var joinTokenFile = JoinTokenInput.FileOption();
        var identityOf = new Option<string?>("--identity-of") { Description = "act with the identity of this other context (no join token needed)" };
        var create = new Command("create", "create a context and make it current: get the operator's SVID, put its ledger key on the chain") { name, sns, identityServer, joinToken, joinTokenFile, identityOf };
        create.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            if (parse.GetValue(identityOf) is { } other && !SwciContext.Load(other).HasIdentity)
            {
                throw new SwarmException($"context '{other}' has no identity to share");
            }
            var context = new SwciContext(parse.GetValue(name)!, parse.GetValue(sns)!, parse.GetValue(identityOf));
            context.Save();
            if (JoinTokenInput.Resolve(parse.GetValue(joinToken), parse.GetValue(joinTokenFile)) is { } token)
            {
                using (await new IdentityClient(parse.GetValue(identityServer)!).AttestAsync(JoinToken.Parse(token), new SvidFolder(Path.Combine(context.IdentityFolder, "identity")), cancellationToken: cancellationToken)) { }
            }
            using var session = context.Open();
            await session.Ledger.RegisterKeyAsync(cancellationToken);
            SwciContext.Use(context.Name);
            Console.WriteLine($"context {context.Name}: {session.Operator} on {string.Join(", ", context.Sns)} (current)");
        }));
        var useName = new Argument<string>("name");
        var use = new Command("use", "make a context current") { useName };
        use.SetAction(parse => CommandRun.Guarded(() =>
        {
            SwciContext.Use(parse.GetValue(useName)!);
            Console.WriteLine($"current context: {parse.GetValue(useName)}");
            return Task.CompletedTask;
        }));
        var list = new Command("list", "list the contexts");
        list.SetAction(_ =>
        {
            foreach (string context in SwciContext.All())
            {
                Console.WriteLine($"{context}  {string.Join(", ", SwciContext.Load(context).Sns)}");
            }
        });
        return new Command("context", "which SN the command interface talks to, as which operator") { create, use, list };
    }

    private static Command Contract()
    {
        var name = new Argument<string>("name") { Description = "the training contract" };
        var minPeers = new Option<int>("--min-peers") { Description = "quorum", Required = true };
        var syncFrequency = new Option<int>("--sync-frequency") { Description = "local batches between syncs", Required = true };
        var merge = new Option<string>("--merge") { Description = "merge method", DefaultValueFactory = _ => "mean" };
        var adaptive = new Option<bool>("--adaptive-sync") { Description = "useAdaptiveSync" };
        var waitWindow = new Option<string>("--wait-window") { DefaultValueFactory = _ => "30s", Description = "wait for more peers after quorum" };
        var leaderTimeout = new Option<string>("--leader-timeout") { DefaultValueFactory = _ => "600s", Description = "replace a silent leader after this at most (once merges have been timed, 4x their median, at least --leader-timeout-floor)" };
        var floor = new Option<string>("--leader-timeout-floor") { DefaultValueFactory = _ => "10s", Description = "the least time a leader or an auditor is given" };
        var stragglers = new Option<string?>("--straggler-timeout") { Description = "complete without nodes that stopped checking in once every other node finished, after this (default: the leader timeout)" };
        var staleness = new Option<int>("--max-staleness") { DefaultValueFactory = _ => ContractTimings.Default.MaxStaleness, Description = "rounds a slow node's late model may be behind" };
        var auditors = new Option<int>("--auditors") { DefaultValueFactory = _ => TrainingParameters.DefaultAuditors, Description = $"nodes drawn to recompute every merge (0 turns verification off; at most {TrainingParameters.MaxAuditors}); docs/verification.md" };
        var dpClip = new Option<double>("--dp-clip") { Description = "differential privacy: every node clips its update to this L2 norm (0: off); nodes must register with the same settings" };
        var dpNoise = new Option<double>("--dp-noise") { Description = "differential privacy: the noise multiplier sigma" };
        var dpDelta = new Option<double>("--dp-delta") { DefaultValueFactory = _ => 1e-5, Description = "differential privacy: delta" };
        var create = new Command("create", "create a training contract with its settings; nodes registering with other parameters or timings are refused (a node that gives none takes the contract's)")
        {
            name, minPeers, syncFrequency, merge, adaptive, waitWindow, leaderTimeout, floor, stragglers, staleness, auditors, dpClip, dpNoise, dpDelta,
        };
        create.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            var privacy = parse.GetValue(dpClip) is > 0 and var clip ? new Core.Privacy.DifferentialPrivacy(clip, parse.GetValue(dpNoise), parse.GetValue(dpDelta)) : null;
            var parameters = new TrainingParameters(parse.GetValue(minPeers), parse.GetValue(syncFrequency), parse.GetValue(merge)!, parse.GetValue(adaptive), privacy, parse.GetValue(auditors));
            var timings = new ContractTimings(Duration.Parse(parse.GetValue(waitWindow)!, "--wait-window"), Duration.Parse(parse.GetValue(leaderTimeout)!, "--leader-timeout"),
                parse.GetValue(staleness), parse.GetValue(stragglers) is { } straggler ? Duration.Parse(straggler, "--straggler-timeout") : null,
                Duration.Parse(parse.GetValue(floor)!, "--leader-timeout-floor"));
            if ((parameters.Problem() ?? timings.Problem()) is { } problem)
            {
                throw new SwarmException(problem);
            }
            await SubmitAsync(new CreateContract(parse.GetValue(name)!, parameters, timings), "created", cancellationToken);
        }));

        var resetName = new Argument<string>("name");
        var reset = new Command("reset", "reset a contract: its rounds and merged models start over, its nodes must register again") { resetName };
        reset.SetAction((parse, cancellationToken) => Submit(new ResetContract(parse.GetValue(resetName)!), "reset", cancellationToken));

        var list = new Command("list", "list the training contracts");
        list.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            using var session = SwciContext.Current().Open();
            var contracts = await session.GetAsync<List<ContractSummary>>("/v1/contracts", cancellationToken);
            Console.WriteLine($"{"CONTRACT",-24} {"STATUS",-12} {"ROUND",6} {"NODES",6} {"MERGES",7}");
            foreach (var c in contracts)
            {
                Console.WriteLine($"{c.Name,-24} {c.Status,-12} {c.Round,6} {c.Nodes,6} {c.Merges,7}");
            }
        }));

        var statusName = new Argument<string>("name");
        var status = new Command("status", "a contract's state: parameters, round, nodes, last merges") { statusName };
        status.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            using var session = SwciContext.Current().Open();
            var state = await session.Ledger.GetContractAsync(parse.GetValue(statusName)!, cancellationToken)
                ?? throw new SwarmException($"no contract named '{parse.GetValue(statusName)}'; `swarm swci contract list` lists them");
            Console.WriteLine($"contract {state.Name}: {state.Status}, round {state.Round.Number} ({state.Round.Phase}), minPeers {state.Parameters.MinPeers}, " +
                $"syncFrequency {state.Parameters.SyncFrequency}, merge {state.Parameters.MergeMethod}, " +
                $"{(state.Parameters.Auditors == 0 ? "verification off" : $"{state.Parameters.Auditors} auditor(s) per merge")}, {state.History.Count} merges");
            foreach (var node in state.Nodes.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal))
            {
                Console.WriteLine(node.Byzantine is { } mark
                    ? $"  node {node.NodeId}: BYZANTINE since round {mark.Round}: it {mark.Reason}"
                    : $"  node {node.NodeId}: {node.Status}");
            }
            foreach (var merge in state.History.TakeLast(5))
            {
                string audit = merge.AuditedBy switch { null => "being audited", [] => "not audited", var by => $"verified by {string.Join(", ", by)}" };
                Console.WriteLine($"  round {merge.Round}: {merge.Hash.Short} by {merge.Leader} ({merge.Contributions.Count} contributions, {audit})");
            }
            if (!state.FinalModel.IsNone)
            {
                Console.WriteLine($"  final model {state.FinalModel.Hex}");
            }
        }));
        return new Command("contract", "training contracts") { create, list, status, reset };
    }

    private static Command Perfdata()
    {
        var name = new Argument<string>("contract");
        var command = new Command("perfdata", "PERFDATA: per node, leader or not, loss, metric, epochs done of total, privacy spent (epsilon, with differential privacy), last seen") { name };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            using var session = SwciContext.Current().Open();
            var nodes = await session.GetAsync<List<NodeProgressInfo>>($"/v1/contracts/{Uri.EscapeDataString(parse.GetValue(name)!)}/progress", cancellationToken);
            Console.WriteLine($"{"NODE",-16} {"STATUS",-10} {"LEADER",-6} {"ROUND",6} {"LOSS",9} {"METRIC",8} {"EPOCHS",8} {"EPSILON",8}  LAST SEEN");
            foreach (var n in nodes)
            {
                Console.WriteLine($"{n.NodeId,-16} {n.Status,-10} {(n.IsLeader ? "yes" : "no"),-6} {n.Round,6} {n.Loss,9:F4} {n.Metric,8:F4} {$"{n.EpochsDone}/{n.TotalEpochs}",8} {n.Epsilon,8:F3}  {n.LastAlive:HH:mm:ss}");
            }
            foreach (var n in nodes.Where(n => n.Byzantine is not null))
            {
                Console.WriteLine($"{n.NodeId} was found Byzantine {n.Byzantine}; it no longer leads, audits or counts");
            }
        }));
        return command;
    }

    private static Command Nodes()
    {
        var command = new Command("nodes", "LIST NODES: the SNs and the SL nodes of every contract");
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(async () =>
        {
            using var session = SwciContext.Current().Open();
            var nodes = await session.GetAsync<List<JsonElement>>("/v1/nodes", cancellationToken);
            Console.WriteLine($"{"TYPE",-4} {"ID",-40} {"ADDRESS",-28} {"CONTRACT",-16} {"STATUS",-10} LAST SEEN");
            foreach (var node in nodes)
            {
                string Text(string property) => node.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
                Console.WriteLine($"{Text("type"),-4} {Text("id"),-40} {Text("address"),-28} {Text("contract"),-16} {Text("status"),-10} {Text("lastAlive")}");
            }
        }));
        return command;
    }

    private static Command WaitFor()
    {
        var address = new Argument<string>("address") { Description = "an SN API host:port" };
        var timeout = new Option<string>("--timeout") { DefaultValueFactory = _ => "10m", Description = "give up after" };
        var command = new Command("wait-for", "WAIT FOR IP: until the SN API at the address answers (over mTLS; without a context yet, until it accepts connections)") { address, timeout };
        command.SetAction((parse, cancellationToken) => CommandRun.Guarded(() =>
            WaitForSnAsync(parse.GetValue(address)!, Duration.Parse(parse.GetValue(timeout)!, "--timeout"), cancellationToken)));
        return command;
    }

    /// <summary>Waits until the SN API at <paramref name="address"/> answers, as the current context's operator when there is one.</summary>
    public static async Task WaitForSnAsync(string address, TimeSpan limit, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + limit;
        var current = SwciContext.TryCurrent();
        using var session = current is { HasIdentity: true } ? (current with { Sns = [address] }).Open() : null;
        while (true)
        {
            try
            {
                if (session is null)
                {
                    await ConnectAsync(address, cancellationToken);
                    Console.WriteLine($"{address} accepts connections (no context yet: its identity is checked once a context is created)");
                    return;
                }
                var health = await session.GetAsync<SnHealth>("/v1/health", cancellationToken);
                Console.WriteLine($"{address} is up: {health.Id}, height {health.Height}");
                return;
            }
            catch (Exception e) when (e is SwarmException or System.Net.Sockets.SocketException && DateTime.UtcNow < until)
            {
                await Task.Delay(1000, cancellationToken);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                throw new SwarmException($"{address} did not accept a connection within {limit}: {e.Message}");
            }
        }
    }

    private static async Task ConnectAsync(string address, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate("tcp://" + address, UriKind.Absolute, out var endpoint) || endpoint.Port <= 0)
        {
            throw new SwarmException($"'{address}' is not HOST:PORT");
        }
        using var client = new System.Net.Sockets.TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await client.ConnectAsync(endpoint.IdnHost, endpoint.Port, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.TimedOut);
        }
    }

    private static Command Script(Command swci)
    {
        var file = new Argument<string>("file") { Description = "one command per line: HPE's SWCI language (CREATE CONTEXT ... WITH IP ..., LIST CONTRACTS, EXIT ON FAILURE, ...) or ours (as after `swarm swci`); # starts a comment" };
        var command = new Command("script", "run a file of swci commands in order (an HPE swci-init script too); stops at the first that fails unless EXIT ON FAILURE OFF") { file };
        command.SetAction((parse, cancellationToken) => new SwciScript(swci, parse.GetValue(file)!).RunAsync(cancellationToken));
        return command;
    }

    private static Task<int> Submit(ContractTx transaction, string done, CancellationToken cancellationToken) =>
        CommandRun.Guarded(() => SubmitAsync(transaction, done, cancellationToken));

    private static async Task SubmitAsync(ContractTx transaction, string done, CancellationToken cancellationToken)
    {
        using var session = SwciContext.Current().Open();
        var outcome = await session.Ledger.SubmitAsync(transaction, cancellationToken);
        if (!outcome.Accepted)
        {
            throw new SwarmException($"the ledger refused: {outcome.Reason}");
        }
        Console.WriteLine($"contract {transaction.Contract} {done} (by {session.Operator})");
    }
}
