using SwarmLearning.Core;
using SwarmLearning.TorchSharp.Data;

namespace SwarmLearning.TorchSharp.Tests;

public sealed class DataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Fashion_mnist_loads_sixty_thousand_training_and_ten_thousand_test_images()
    {
        var (train, test) = FashionMnist.Load();
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        Assert.Equal(60_000 * 784, train.Pixels.Length);
        Assert.InRange(train.Pixels.Max(), 0.99f, 1f);
        Assert.Equal(10, train.Labels.Distinct().Count());
    }

    [Fact]
    public void A_missing_data_set_is_explained_with_the_install_command()
    {
        string absent = Path.Combine(_dir, "absent");
        var error = Assert.Throws<SwarmException>(() => FashionMnist.Load(absent));
        Assert.Contains($"train-images-idx3-ubyte(.gz) not found in {absent}", error.Message);
        Assert.Contains("sudo apt-get install dataset-fashion-mnist", error.Message);
    }

    [Fact]
    public void Bad_and_truncated_idx_files_are_named()
    {
        string bad = Path.Combine(_dir, "bad");
        File.WriteAllBytes(bad, [1, 2, 3, 4]);
        Assert.Contains("not an IDX file", Assert.Throws<SwarmException>(() => IdxFile.Read(bad)).Message);
        string cut = Path.Combine(_dir, "cut");
        File.WriteAllBytes(cut, [0, 0, 8, 1, 0, 0, 0, 9, 1, 2]);
        Assert.Contains("truncated: 2 of 9", Assert.Throws<SwarmException>(() => IdxFile.Read(cut)).Message);
    }

    [Theory]
    [InlineData("iid")]
    [InlineData("dirichlet:0.5")]
    [InlineData("quantity:1")]
    public void Every_row_goes_to_exactly_one_node_and_the_same_seed_gives_the_same_split(string spec)
    {
        var labels = Enumerable.Range(0, 3000).Select(i => (byte)(i * 7 % 10)).ToArray();
        var split = Partitioner.Split(labels, 6, spec, seed: 3);
        Assert.Equal(Enumerable.Range(0, 3000), split.SelectMany(s => s).Order());
        Assert.All(split, s => Assert.True(s.Length >= 10));
        Assert.Equal(split, Partitioner.Split(labels, 6, spec, seed: 3));
    }

    [Fact]
    public void A_small_dirichlet_alpha_gives_each_node_fewer_classes_than_iid()
    {
        var labels = Enumerable.Range(0, 6000).Select(i => (byte)(i % 10)).ToArray();
        double Classes(string spec) => Partitioner.Split(labels, 6, spec, 1).Average(s => s.Select(i => labels[i]).Where((l, _) => true).GroupBy(l => l).Count(g => g.Count() >= 20));
        Assert.True(Classes("dirichlet:0.1") < Classes("iid") - 3);
        var sizes = Partitioner.Split(labels, 6, "quantity:0.5", 1).Select(s => s.Length).ToArray();
        Assert.True(sizes.Max() > 2 * sizes.Min());
    }

    [Fact]
    public void Bad_partition_specifications_are_refused_with_the_accepted_ones()
    {
        var labels = new byte[1000];
        Assert.Contains("use one of: iid", Assert.Throws<SwarmException>(() => Partitioner.Split(labels, 3, "random", 1)).Message);
        Assert.Contains("positive alpha", Assert.Throws<SwarmException>(() => Partitioner.Split(labels, 3, "dirichlet:-1", 1)).Message);
        Assert.Contains("too few", Assert.Throws<SwarmException>(() => Partitioner.Split(labels, 200, "iid", 1)).Message);
    }
}
