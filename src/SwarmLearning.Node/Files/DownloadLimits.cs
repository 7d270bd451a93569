using SwarmLearning.Core.Model;

namespace SwarmLearning.Node.Files;

/// <summary>
/// How much a peer may send for one parameter file and how long it may go silent: once the node knows its model's
/// tensor layout, no file of that training can be larger than the layout's safetensors size (plus its header), so a
/// rogue peer cannot fill the disk, nor a zstd bomb the memory; a stalled peer is given up after the idle time.
/// </summary>
public sealed class DownloadLimits
{
    /// <summary>The cap before the model's layout is known (the node has not registered yet).</summary>
    public const long DefaultMaxBytes = 8L << 30;

    private long _maxBytes = DefaultMaxBytes;

    /// <summary>The most bytes one parameter file may have.</summary>
    public long MaxBytes => Interlocked.Read(ref _maxBytes);

    /// <summary>How long a download may wait for its next bytes before it is cut (and resumed, or given up).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Sets the cap from the model's tensor layout: the data, plus a generous allowance for the header.</summary>
    public void Expect(ModelSignature signature)
    {
        long data = signature.Tensors.Sum(t => checked(t.Shape.Aggregate(1L, (a, b) => checked(a * b)) * t.DType.SizeOf()));
        long header = 8 + (64 << 10) + 512L * signature.Tensors.Count;
        Interlocked.Exchange(ref _maxBytes, checked(data + header));
    }
}
