using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Network.Dashboard;

/// <summary>
/// Keeps the dashboard's <see cref="DashboardSnapshot"/> current: reads the SNs (health, contracts) and the licence
/// server as the operator (mTLS, a swci identity), and waits for the next change on the SN's long-poll of the active
/// contract, at most a few seconds, so liveness and seats stay fresh too. A read that fails becomes a line in the
/// snapshot's problems and the rest is still shown; the loop never stops on one. Loss and metric curves are built
/// here from the successive reports (the ledger keeps only each node's latest).
/// </summary>
public sealed partial class DashboardFeed : IDisposable
{
    /// <summary>A node that has not acted on the ledger (checked in, been merged) for three rounds' time, and at least this long, is shown as late.</summary>
    public static readonly TimeSpan LateAfter = TimeSpan.FromSeconds(30);

    private const int MergesShown = 30;
    private const int MaxCurvePoints = 500;
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(3);

    private readonly ISvidSource _identity;
    private readonly IReadOnlyList<Uri> _sns;
    private readonly Uri? _apls;
    private readonly HttpClient _snHttp;
    private readonly HttpClient? _aplsHttp;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Contract, string Node), SortedDictionary<long, CurvePoint>> _curves = [];
    private readonly Dictionary<string, long> _versions = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _json = "";
    private string _lastWithoutTime = "";

    /// <summary>A feed reading <paramref name="sns"/> (and the licence server <paramref name="apls"/>, if given) as <paramref name="identity"/>.</summary>
    public DashboardFeed(ISvidSource identity, IReadOnlyList<Uri> sns, Uri? apls, ILogger logger, TimeProvider? time = null)
    {
        _identity = identity;
        _sns = sns.Count > 0 ? sns : throw new ArgumentException("the dashboard needs at least one SN", nameof(sns));
        _apls = apls;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _snHttp = new HttpClient(MutualTls.Handler(identity, PeerPolicy.Under(identity, SwarmIdentities.SwarmNetwork))) { Timeout = TimeSpan.FromSeconds(10) };
        _aplsHttp = apls is null ? null : new HttpClient(MutualTls.Handler(identity, PeerPolicy.Exactly(() => identity.Bundle,
            SpiffeId.ForTrustDomain(identity.Id.TrustDomain).InDomain(SwarmIdentities.LicenceServer)))) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The latest snapshot as JSON ("" before the first).</summary>
    public string Json
    {
        get
        {
            lock (_gate)
            {
                return _json;
            }
        }
    }

    /// <summary>Completes when the snapshot next changes.</summary>
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Refreshes until cancelled; whatever goes wrong becomes a line on the page, and the loop goes on.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            DashboardSnapshot? snapshot = null;
            try
            {
                snapshot = await BuildAsync(cancellationToken);
                Publish(snapshot);
                await WaitForChangeAsync(snapshot, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogRefreshFailed(_logger, e.Message);
                Publish(new DashboardSnapshot(_time.GetUtcNow(), _identity.Id.ToString(), snapshot?.Sns ?? [], new LedgerView(-1, null, "unknown"), [], null,
                    [$"refresh failed: {e.Message}"]));
                try
                {
                    await Task.Delay(LongestWait, _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Reads everything once; a read that fails is named in the snapshot's problems, the rest is still shown.</summary>
    public async Task<DashboardSnapshot> BuildAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var sns = await Task.WhenAll(_sns.Select(sn => HealthAsync(sn, cancellationToken)));
        var answering = sns.Where(s => s.Id is not null).ToList();
        var seats = await SeatsAsync(cancellationToken);
        // Contracts from the SN furthest along (the others may lag a block or two).
        if (answering.MaxBy(s => s.Height) is not { } best)
        {
            problems.Add($"no SN answers ({string.Join("; ", sns.Select(s => $"{s.Api}: {s.Status}"))})");
            return new DashboardSnapshot(_time.GetUtcNow(), _identity.Id.ToString(), sns, new LedgerView(-1, null, "unknown: no SN answers"), [], seats, problems);
        }
        var source = _sns.First(sn => sn.Authority == best.Api);
        var contracts = new List<ContractView>();
        List<ContractSummary> summaries = [];
        try
        {
            summaries = await GetAsync<List<ContractSummary>>(source, "/v1/contracts", cancellationToken) ?? [];
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            problems.Add($"reading the contracts from {source.Authority} failed: {e.Message}");
        }
        foreach (string name in summaries.Select(s => s?.Name).OfType<string>().Where(n => n.Length > 0).Order(StringComparer.Ordinal))
        {
            try
            {
                if (await GetAsync<ContractState>(source, $"/v1/contracts/{Uri.EscapeDataString(name)}", cancellationToken) is { } state)
                {
                    contracts.Add(View(state));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                problems.Add($"contract '{name}': {e.Message}");
            }
        }
        return new DashboardSnapshot(_time.GetUtcNow(), _identity.Id.ToString(), sns, LedgerOf(answering), contracts, seats, problems);
    }

    private void Publish(DashboardSnapshot snapshot)
    {
        // Compare without the time stamp: subscribers hear only of real changes.
        string json = JsonSerializer.Serialize(snapshot, LedgerJson.Options);
        string withoutTime = JsonSerializer.Serialize(snapshot with { At = default }, LedgerJson.Options);
        TaskCompletionSource? wake = null;
        lock (_gate)
        {
            if (_lastWithoutTime != withoutTime)
            {
                _lastWithoutTime = withoutTime;
                _json = json;
                wake = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
        wake?.TrySetResult();
    }

    /// <summary>The SN's long-poll on the contract that is training (if any), capped so that liveness and seats refresh too.</summary>
    private async Task WaitForChangeAsync(DashboardSnapshot snapshot, CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(LongestWait);
        try
        {
            var active = snapshot.Contracts.FirstOrDefault(c => c.Status == nameof(ContractStatus.Active));
            var sn = _sns.FirstOrDefault(s => snapshot.Sns.Any(v => v.Api == s.Authority && v.Id is not null));
            if (active is not null && sn is not null && _versions.TryGetValue(active.Name, out long version))
            {
                using var response = await _snHttp.GetAsync(new Uri(sn, $"/v1/contracts/{Uri.EscapeDataString(active.Name)}?after={version}"), wait.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return; // the contract changed
                }
            }
            await Task.Delay(LongestWait, _time, wait.Token); // nothing to wait on, or an answer that did not wait: never a tight loop
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the cap: refresh anyway
        }
        catch (HttpRequestException)
        {
            await Task.Delay(LongestWait, _time, cancellationToken);
        }
    }

    private ContractView View(ContractState state)
    {
        if (_versions.TryGetValue(state.Name, out long before) && state.Version < before)
        {
            ForgetCurves(state.Name); // the contract was reset: a new run
        }
        _versions[state.Name] = state.Version;
        string? leader = state.Status == ContractStatus.Active && state.Round.Phase == RoundPhase.Merging ? state.Round.CurrentLeader : null;
        var seen = state.Nodes.Keys.ToDictionary(id => id, id => LastOnLedger(state, id), StringComparer.Ordinal);
        // Late is judged on the ledger's own clock (the latest act of any node), so local clock skew does not matter,
        // and against the swarm's pace: three rounds' time, at least LateAfter.
        var latest = seen.Values.Max();
        var lateAfter = Pace(state) * 3 is var three && three > LateAfter ? three : LateAfter;
        var nodes = state.Nodes.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal).Select(n =>
        {
            var at = seen[n.NodeId];
            string condition = n.Byzantine is not null ? "byzantine"
                : n.Status == NodeStatus.Left ? "dropped"
                : n.Status == NodeStatus.Finished || state.Status == ContractStatus.Completed ? "finished"
                : at is null ? "not seen yet"
                : latest - at > lateAfter ? "late" : "alive";
            return new NodeView(n.NodeId, condition, n.NodeId == leader, n.Progress?.Round, n.Progress?.EpochsDone ?? 0, n.Progress?.TotalEpochs ?? 0,
                n.Progress?.Loss, n.Progress?.Metric, at, Curve(state.Name, n), n.Progress?.Epsilon,
                n.Byzantine is { } mark ? $"found Byzantine at round {mark.Round}: it {mark.Reason}" : null);
        }).ToList();
        var merges = state.History.TakeLast(MergesShown).Reverse().Select(m =>
            new MergeView(m.Round, m.Leader, m.Contributions.Count - m.Excluded.Count, m.Excluded, m.Hash.Hex, m.At, m.Unreachable ?? [], m.AuditedBy)).ToList();
        double? best = nodes.SelectMany(n => n.Curve).Select(p => p.Metric).Where(v => v is not null && double.IsFinite(v.Value)).Max();
        double? lastLoss = nodes.Select(n => n.Loss).Where(v => v is not null).Average();
        return new ContractView(state.Name, state.Status.ToString(), state.Round.Number, state.Round.Phase.ToString(), leader, state.Parameters.MinPeers,
            state.Parameters.SyncFrequency, state.Parameters.MergeMethod, nodes, merges, state.History.Count, best, lastLoss,
            state.History.Count > 0 ? state.History[0].At : null, state.LatestMerged?.At, state.FinalModel.IsNone ? null : state.FinalModel.Hex,
            state.Parameters.Privacy?.ToString(), state.Parameters.Auditors);
    }

    /// <summary>The time between recent merges (zero before there are two).</summary>
    private static TimeSpan Pace(ContractState state)
    {
        var recent = state.History.TakeLast(6).Select(m => m.At).ToList();
        return recent.Count < 2 ? TimeSpan.Zero : (recent[^1] - recent[0]) / (recent.Count - 1);
    }

    /// <summary>The node's last act on the ledger: a check-in (on time or late), or the last merge that took its model.</summary>
    private static DateTimeOffset? LastOnLedger(ContractState state, string node) =>
        new[]
        {
            state.Round.CheckIns.Find(c => c.NodeId == node)?.At,
            state.LatePool.TryGetValue(node, out var late) ? late.At : null,
            state.History.LastOrDefault(m => m.Contributions.Any(c => c.NodeId == node) && !m.Excluded.Contains(MergeContribution.KeyFor(node)))?.At,
        }.Max();

    private void ForgetCurves(string contract)
    {
        foreach (var key in _curves.Keys.Where(k => k.Contract == contract).ToList())
        {
            _curves.Remove(key);
        }
    }

    private List<CurvePoint> Curve(string contract, NodeRecord node)
    {
        if (!_curves.TryGetValue((contract, node.NodeId), out var points))
        {
            _curves[(contract, node.NodeId)] = points = [];
        }
        if (node.Progress is { } p && (p.Loss is not null || p.Metric is not null))
        {
            points[p.Round] = new CurvePoint(p.Round, p.Loss, p.Metric);
            while (points.Count > MaxCurvePoints)
            {
                points.Remove(points.Keys.First()); // the page draws the latest rounds
            }
        }
        return [.. points.Values];
    }

    private static LedgerView LedgerOf(IReadOnlyList<SnView> reached)
    {
        if (reached.Count == 0)
        {
            return new LedgerView(-1, null, "unknown: no SN answers");
        }
        var top = reached.MaxBy(s => s.Height)!;
        var sameHeight = reached.Where(s => s.Height == top.Height).ToList();
        string verification = sameHeight.Select(s => s.Head).Distinct().Count() > 1 ? $"DISAGREE: SNs at height {top.Height} report different heads"
            : reached.Count == 1 ? "one SN answers"
            : sameHeight.Count == reached.Count ? $"all {reached.Count} SNs agree on the head"
            : $"no disagreement: {sameHeight.Count} of {reached.Count} SNs at the head, the others up to {Blocks(top.Height - reached.Min(s => s.Height))} behind";
        return new LedgerView(top.Height, top.Head, verification);
    }

    private static string Blocks(long count) => count == 1 ? "1 block" : $"{count} blocks";

    private async Task<SnView> HealthAsync(Uri sn, CancellationToken cancellationToken)
    {
        try
        {
            var health = await _snHttp.GetFromJsonAsync<SnHealth>(new Uri(sn, "/v1/health"), LedgerJson.Options, cancellationToken)
                ?? throw new JsonException("an empty health answer");
            return new SnView(sn.Authority, health.Id, health.Height, health.HeadHash, health.IsLeader, health.Status ?? "ok");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new SnView(sn.Authority, null, -1, null, false, "no answer: " + e.Message);
        }
    }

    private async Task<T?> GetAsync<T>(Uri sn, string path, CancellationToken cancellationToken)
    {
        using var response = await _snHttp.GetAsync(new Uri(sn, path), cancellationToken);
        return response.StatusCode == HttpStatusCode.NotFound ? default
            : response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<T>(LedgerJson.Options, cancellationToken)
            : throw new HttpRequestException($"{sn.Authority}{path} answered {(int)response.StatusCode}");
    }

    private async Task<SeatsView?> SeatsAsync(CancellationToken cancellationToken)
    {
        if (_apls is null || _aplsHttp is null)
        {
            return null;
        }
        try
        {
            var licences = await _aplsHttp.GetFromJsonAsync<List<LicenceSeats>>(new Uri(_apls, "/v1/licenses"), LedgerJson.Options, cancellationToken) ?? [];
            return new SeatsView(licences.Sum(l => l.SeatsInUse), licences.Sum(l => l.Seats), null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new SeatsView(0, 0, "licence server: " + e.Message);
        }
    }

    /// <summary>What the dashboard reads of the licence server's /v1/licenses.</summary>
    private sealed record LicenceSeats(int Seats, int SeatsInUse);

    /// <inheritdoc />
    public void Dispose()
    {
        _snHttp.Dispose();
        _aplsHttp?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "dashboard: refreshing failed ({Reason}); trying again")]
    private static partial void LogRefreshFailed(ILogger logger, string reason);
}
