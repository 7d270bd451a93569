namespace SwarmLearning.TorchSharp.Data;

/// <summary>Labelled 28x28 grey images, pixels scaled to [0, 1], row-major.</summary>
public sealed class ImageSet(float[] pixels, byte[] labels)
{
    /// <summary>Pixels per image.</summary>
    public const int PixelCount = 28 * 28;

    /// <summary>All pixels, image after image.</summary>
    public float[] Pixels { get; } = pixels;

    /// <summary>One label (0 to 9) per image.</summary>
    public byte[] Labels { get; } = labels;

    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Returns the images at <paramref name="indices"/>, in that order.</summary>
    public ImageSet Select(IReadOnlyList<int> indices)
    {
        var pixels = new float[indices.Count * PixelCount];
        var labels = new byte[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Array.Copy(Pixels, (long)indices[i] * PixelCount, pixels, (long)i * PixelCount, PixelCount);
            labels[i] = Labels[indices[i]];
        }
        return new ImageSet(pixels, labels);
    }

    /// <summary>The same images with each label changed by <paramref name="relabel"/> (a label-flipping attacker's data).</summary>
    public ImageSet WithLabels(Func<byte, byte> relabel) => new(Pixels, [.. Labels.Select(relabel)]);

    /// <summary>The first <paramref name="count"/> images (all if fewer).</summary>
    public ImageSet Take(int count) => Select([.. Enumerable.Range(0, Math.Min(count, Count))]);
}
