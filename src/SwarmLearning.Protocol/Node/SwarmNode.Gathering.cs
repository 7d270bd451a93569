using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Node;

/// <summary>A contribution after a fetch: usable, invalid (and why), or not fetched (and why).</summary>
internal sealed record Gathered(MergeContribution Contribution, string? Invalid, string? Unreachable)
{
    public bool Usable => Invalid is null && Unreachable is null;
}

public sealed partial class SwarmNode
{
    /// <summary>How much longer than the first half of a round's models the rest may take.</summary>
    public const int GatherFactor = 3;

    /// <summary>The least time the rest of a round's models are given, whatever the first half took.</summary>
    public static readonly TimeSpan GatherFloor = TimeSpan.FromSeconds(2);

    /// <summary>The link speed a model's transfer is allowed at least (80 Mbit/s): a large model gets its size's worth of time.</summary>
    public const double SlowestLinkBytesPerSecond = 10e6;

    // How long half of the last gathering's fetches took: the pace a gathering with no fetch of its own yet goes by.
    private TimeSpan? _lastHalfTime;

    // One model loaded at a time to check it: concurrent fetches must not hold several models in memory at once.
    private readonly SemaphoreSlim _checking = new(1, 1);

    /// <summary>
    /// Fetches contributions concurrently and checks each (layout, finite values). No contributor can stall the round:
    /// once half of those that had to be fetched have arrived, at time T, the rest have until <see cref="GatherFactor"/>
    /// × T (before any has arrived, T of the last gathering), and at least <see cref="GatherFloor"/> or one model's size at
    /// <see cref="SlowestLinkBytesPerSecond"/> (at most three quarters of the contract's leader timeout); whoever misses that
    /// is left out as unreachable, and named. Contributions named in
    /// <paramref name="waitFor"/> (auditors fetched them after an earlier leader could not) get the whole leader timeout.
    /// </summary>
    /// <param name="state">The contract.</param>
    /// <param name="contributions">What to fetch.</param>
    /// <param name="sources">The nodes to ask for each contribution, in order (its owner first).</param>
    /// <param name="waitFor">Contributions known to be fetchable: no early deadline for them.</param>
    /// <param name="cancellationToken">Cancels the gathering.</param>
    private async Task<List<Gathered>> GatherAsync(ContractState state, IReadOnlyList<MergeContribution> contributions,
        Func<MergeContribution, IReadOnlyList<string>> sources, Func<MergeContribution, bool> waitFor, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var cap = state.LeaderTimeout() * 0.75; // the rest of the turn is for merging and publishing
        long modelBytes = state.Signature?.Tensors.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b) * t.DType.SizeOf()) ?? 0;
        var floor = Max(GatherFloor, TimeSpan.FromSeconds(modelBytes / SlowestLinkBytesPerSecond));
        floor = floor < cap ? floor : cap;
        // What is in the store already (this node's own model) says nothing about the links: only fetches count for T.
        var local = contributions.Where(c => store.Contains(c.ModelHash)).ToHashSet();
        int remote = contributions.Count - local.Count;
        var fetches = contributions.ToDictionary(c => c, _ => CancellationTokenSource.CreateLinkedTokenSource(cancellationToken));
        var pending = contributions.ToDictionary(c => FetchAndCheckAsync(state, c, sources(c), floor, fetches[c].Token), c => c);
        var done = new List<Gathered>(contributions.Count);
        int arrivedRemote = 0;
        DateTimeOffset? halfAt = null;
        try
        {
            while (pending.Count > 0)
            {
                // Before half of this round's fetches are in, the last round's pace stands in (the link speeds seen so far).
                var early = halfAt is { } half ? started + Max(floor, (half - started) * GatherFactor)
                    : _lastHalfTime is { } pace ? started + Max(floor, pace * GatherFactor)
                    : started + cap;
                bool patient = pending.Values.All(waitFor);
                var limit = patient || early > started + cap ? started + cap : early;
                var wait = limit - time.GetUtcNow();
                if (wait > TimeSpan.Zero && await NextArrivalAsync([.. pending.Keys], wait, cancellationToken) is { } arrived)
                {
                    var contribution = pending[arrived];
                    pending.Remove(arrived);
                    done.Add(await arrived);
                    arrivedRemote += done[^1].Unreachable is null && !local.Contains(contribution) ? 1 : 0;
                    if (halfAt is null && arrivedRemote > 0 && arrivedRemote * 2 >= remote)
                    {
                        halfAt = time.GetUtcNow();
                        _lastHalfTime = halfAt - started;
                    }
                    continue;
                }
                // The deadline passed: give up on what may be given up on (everything, at the cap).
                var waited = time.GetUtcNow() - started;
                foreach (var (task, contribution) in pending.Where(p => limit >= started + cap || !waitFor(p.Value)).ToList())
                {
#pragma warning disable CA1849 // cancelled synchronously so the abandoned fetch ends before we go on (deterministic tests)
                    fetches[contribution].Cancel();
#pragma warning restore CA1849
                    await Task.WhenAny(task); // it ends with the cancellation
                    cancellationToken.ThrowIfCancellationRequested();
                    pending.Remove(task);
                    done.Add(new Gathered(contribution, null,
                        $"its model did not arrive within {waited.TotalSeconds:0.#} s ({GatherFactor}x the time half of the round's models took, at least {floor.TotalSeconds:0.#} s)"));
                }
            }
        }
        finally
        {
            foreach (var fetch in fetches.Values)
            {
                fetch.Dispose();
            }
        }
        return [.. done.OrderBy(d => d.Contribution.Key, StringComparer.Ordinal)];
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The next fetch to finish within <paramref name="wait"/>, or null when none does.</summary>
    private async Task<Task<Gathered>?> NextArrivalAsync(List<Task<Gathered>> pending, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, time, timer.Token);
        var first = await Task.WhenAny([.. pending, delay]);
#pragma warning disable CA1849
        timer.Cancel();
#pragma warning restore CA1849
        cancellationToken.ThrowIfCancellationRequested();
        return first == delay ? null : (Task<Gathered>)first;
    }

    /// <summary>Fetches one contribution (from each source in turn) and checks it; never throws but for cancellation.</summary>
    /// <summary>
    /// Fetches one contribution and checks it; never throws but for cancellation. Every source but the last gets
    /// <paramref name="slice"/> (a source that drip-feeds must not keep the others from being asked); the last gets what
    /// is left of the gathering. A download cut short resumes from the next source.
    /// </summary>
    private async Task<Gathered> FetchAndCheckAsync(ContractState state, MergeContribution contribution, IReadOnlyList<string> sources, TimeSpan slice, CancellationToken cancellationToken)
    {
        string reason = "no node to fetch it from";
        var asked = sources.Distinct().Where(s => s != options.NodeId && state.Nodes.ContainsKey(s)).ToList();
        for (int i = 0; i < asked.Count && !store.Contains(contribution.ModelHash); i++)
        {
            var source = state.Nodes[asked[i]];
            if (await TryFetchAsync(contribution.ModelHash, source, i < asked.Count - 1 ? slice : Timeout.InfiniteTimeSpan, cancellationToken) is { } failed)
            {
                reason = failed;
            }
        }
        if (!store.Contains(contribution.ModelHash))
        {
            return new Gathered(contribution, null, reason);
        }
        await _checking.WaitAsync(cancellationToken);
        try
        {
            var model = await store.GetAsync(contribution.ModelHash, cancellationToken);
            string? problem = state.Signature!.DescribeDifference(model.Signature)
                ?? (ModelChecks.FirstNonFinite(model) is { } bad ? $"tensor '{bad}' holds NaN or infinite values" : null);
            return new Gathered(contribution, problem, null);
        }
        catch (ModelFileException e)
        {
            // The bytes are the ones checked in (their hash matched), so the file itself is broken: invalid for anyone.
            return new Gathered(contribution, e.Message, null);
        }
        finally
        {
            _checking.Release();
        }
    }
}
