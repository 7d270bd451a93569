namespace SwarmLearning.Protocol.Tests;

/// <summary>
/// Runs every continuation on the test thread, in order: with a FakeTimeProvider this makes a whole swarm a
/// deterministic discrete-event simulation. A drain that never ends is reported as a busy loop.
/// </summary>
internal sealed class DeterministicScheduler : SynchronizationContext
{
    private const int BusyLoopBound = 200_000;
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();

    public override void Post(SendOrPostCallback d, object? state)
    {
        lock (_queue)
        {
            _queue.Enqueue((d, state));
        }
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

    /// <summary>Runs <paramref name="action"/> with this context current, so its awaits come back here.</summary>
    public T Enter<T>(Func<T> action)
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            return action();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    /// <summary>Runs queued continuations until none is left.</summary>
    public void Drain()
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            for (int done = 0; ; done++)
            {
                (SendOrPostCallback Callback, object? State) item;
                lock (_queue)
                {
                    if (_queue.Count == 0)
                    {
                        return;
                    }
                    item = _queue.Dequeue();
                }
                if (done > BusyLoopBound)
                {
                    throw new InvalidOperationException($"busy loop: more than {BusyLoopBound} continuations ran without time passing");
                }
                item.Callback(item.State);
            }
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }
}
