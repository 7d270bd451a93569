using SwarmLearning.Core;

namespace SwarmLearning.TorchSharp.Data;

/// <summary>Fashion-MNIST (Zalando, 70,000 images of clothing in 10 classes), from Debian's dataset-fashion-mnist package.</summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Loads the 60,000 training and 10,000 test images; a missing data set is explained with the command that installs it.</summary>
    public static (ImageSet Train, ImageSet Test) Load(string directory = DefaultDirectory) =>
        (LoadPair(directory, "train"), LoadPair(directory, "t10k"));

    private static ImageSet LoadPair(string directory, string prefix)
    {
        string images = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labels = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (imageDims, pixels) = IdxFile.Read(images);
        var (labelDims, labelData) = IdxFile.Read(labels);
        if (imageDims.Length != 3 || imageDims[1] != 28 || imageDims[2] != 28)
        {
            throw new SwarmException($"'{images}' holds images of shape [{string.Join(',', imageDims)}], not [N,28,28]");
        }
        if (labelDims.Length != 1 || labelDims[0] != imageDims[0])
        {
            throw new SwarmException($"'{labels}' has {labelDims[0]} labels for {imageDims[0]} images");
        }
        var scaled = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            scaled[i] = pixels[i] / 255f;
        }
        return new ImageSet(scaled, labelData);
    }

    private static string Find(string directory, string name)
    {
        foreach (string candidate in new[] { Path.Combine(directory, name + ".gz"), Path.Combine(directory, name) })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new SwarmException(
            $"Fashion-MNIST is not there: {name}(.gz) not found in {directory}. Debian's package puts it in {DefaultDirectory}: " +
            "install it with: sudo apt-get install dataset-fashion-mnist (or point --data-dir at a folder holding the four IDX files)");
    }
}
