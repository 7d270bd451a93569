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

    // One model loaded at a time to check it: concurrent fetches must not hold several models in memory at once.
    private readonly SemaphoreSlim _checking = new(1, 1);

    /// <summary>
    /// Fetches contributions concurrently and checks each (layout, finite values). No contributor can stall the round:
    /// once half of them have arrived at time T, the rest have until <see cref="GatherFactor"/> × T, and at least
    /// <see cref="GatherFloor"/> or one model's size at <see cref="SlowestLinkBytesPerSecond"/> (at most the contract's
    /// leader timeout); whoever misses that is left out as unreachable, and named.
    /// </summary>
    /// <param name="state">The contract.</param>
    /// <param name="contributions">What to fetch.</param>
    /// <param name="sources">The nodes to ask for each contribution, in order (its owner first).</param>
    /// <param name="cancellationToken">Cancels the gathering.</param>
    private async Task<List<Gathered>> GatherAsync(ContractState state, IReadOnlyList<MergeContribution> contributions,
        Func<MergeContribution, IReadOnlyList<string>> sources, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var cap = state.LeaderTimeout();
        long modelBytes = state.Signature?.Tensors.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b) * t.DType.SizeOf()) ?? 0;
        var floor = Max(GatherFloor, TimeSpan.FromSeconds(modelBytes / SlowestLinkBytesPerSecond));
        floor = floor < cap ? floor : cap;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = contributions.Select(c => FetchAndCheckAsync(state, c, sources(c), stop.Token)).ToList();
        var done = new List<Gathered>(contributions.Count);
        DateTimeOffset? halfAt = null;
        while (pending.Count > 0)
        {
            var limit = started + cap;
            if (halfAt is { } half && started + Max(floor, (half - started) * GatherFactor) < limit)
            {
                limit = started + Max(floor, (half - started) * GatherFactor);
            }
            var wait = limit - time.GetUtcNow();
            if (wait <= TimeSpan.Zero || await NextArrivalAsync(pending, wait, cancellationToken) is not { } arrived)
            {
                break;
            }
            pending.Remove(arrived);
            done.Add(await arrived);
            if (halfAt is null && done.Count * 2 >= contributions.Count)
            {
                halfAt = time.GetUtcNow();
            }
        }
        if (pending.Count > 0)
        {
            var waited = time.GetUtcNow() - started;
#pragma warning disable CA1849 // cancelled synchronously so the abandoned fetches end before we go on (deterministic tests)
            stop.Cancel();
#pragma warning restore CA1849
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var late in pending)
            {
                await Task.WhenAny(late); // it ends with the cancellation
            }
            var missing = contributions.Where(c => done.All(d => d.Contribution.Key != c.Key));
            done.AddRange(missing.Select(c => new Gathered(c, null,
                $"its model did not arrive within {waited.TotalSeconds:0.#} s ({GatherFactor}x the time half of the round's models took, at least {floor.TotalSeconds:0.#} s)")));
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
    private async Task<Gathered> FetchAndCheckAsync(ContractState state, MergeContribution contribution, IReadOnlyList<string> sources, CancellationToken cancellationToken)
    {
        string reason = "no node to fetch it from";
        foreach (string source in sources.Distinct())
        {
            if (store.Contains(contribution.ModelHash))
            {
                break;
            }
            try
            {
                await transport.FetchAsync(contribution.ModelHash, source, state.Nodes.GetValueOrDefault(source)?.Address, cancellationToken);
            }
            catch (PeerUnavailableException e)
            {
                reason = e.Message;
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
