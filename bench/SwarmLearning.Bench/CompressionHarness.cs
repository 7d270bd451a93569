using System.Diagnostics;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using ZstdSharp;

namespace SwarmLearning.Bench;

/// <summary>
/// Is zstd worth it for parameter files (`run-sl --sl-fs-compress`)? Measures the size left and the speed of zstd
/// levels 1 and 3 on real trained weights (the Fashion-MNIST CNN, MLP and LSTM after one epoch) and on random ones,
/// against a plain copy of the same bytes in the same run, and derives the link speed below which compressing pays.
/// </summary>
internal static class CompressionHarness
{
    public static void Run()
    {
        var (train, test) = FashionMnist.Load();
        var files = new List<(string Name, byte[] Bytes)>();
        foreach (string model in new[] { "cnn", "mlp", "lstm" })
        {
            using var session = new TorchSession(model, train.Take(12_000), test.Take(100), seed: 1);
            for (int b = 0; b < session.BatchesPerEpoch; b++)
            {
                session.TrainBatchAsync(default).GetAwaiter().GetResult();
            }
            files.Add(($"{model}, trained 1 epoch", FileBytes(session.GetParameters())));
        }
        files.Add(("random 10M float32", FileBytes(Models.Make(1, 10_000_000))));

        Console.WriteLine("| parameters | file | zstd level | size left | size left, bytes split into 4 planes first | compress | decompress | copy (baseline) | pays below |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, bytes) in files)
        {
            double copy = Rate(bytes.Length, () => bytes.AsSpan().CopyTo(new byte[bytes.Length]));
            foreach (int level in new[] { 1, 3 })
            {
                using var compressor = new Compressor(level);
                byte[] packed = compressor.Wrap(bytes).ToArray();
                double ratio = (double)packed.Length / bytes.Length;
                double planes = (double)compressor.Wrap(BytePlanes(bytes)).Length / bytes.Length;
                double compress = Rate(bytes.Length, () => compressor.Wrap(bytes));
                using var decompressor = new Decompressor();
                double decompress = Rate(bytes.Length, () => decompressor.Unwrap(packed));
                // Streamed, a transfer takes max(size / compress speed, size * ratio / link): it beats size / link
                // only while the link is slower than compress speed * (1 - ratio).
                double breakEven = compress * (1 - ratio);
                Console.WriteLine($"| {name} | {bytes.Length / 1e6:F1} MB | {level} | {ratio:P1} | {planes:P1} | {compress:F0} MB/s | {decompress:F0} MB/s | {copy:F0} MB/s | {breakEven:F0} MB/s ({breakEven * 8:F0} Mbit/s) |");
            }
        }
    }

    /// <summary>Byte k of every 4-byte word, then byte k+1...: float32 sign and exponent bytes repeat, mantissas do not.</summary>
    private static byte[] BytePlanes(byte[] bytes)
    {
        int words = bytes.Length / 4;
        var planes = new byte[bytes.Length];
        for (int i = 0; i < words; i++)
        {
            for (int k = 0; k < 4; k++)
            {
                planes[k * words + i] = bytes[4 * i + k];
            }
        }
        bytes.AsSpan(4 * words).CopyTo(planes.AsSpan(4 * words));
        return planes;
    }

    private static byte[] FileBytes(ModelState model)
    {
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(model, stream);
        return stream.ToArray();
    }

    /// <summary>MB/s over the best of five runs (after one warm-up).</summary>
    private static double Rate(long bytes, Action action)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return bytes / 1e6 / best;
    }
}
