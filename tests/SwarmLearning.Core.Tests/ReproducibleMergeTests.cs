using SwarmLearning.Core.Files;
using SwarmLearning.Core.Merging;
using SwarmLearning.MergeHashes;
using SwarmLearning.Testing;

namespace SwarmLearning.Core.Tests;

/// <summary>
/// A merge is recomputed by auditors on other hosts, so it must give the same bytes whatever the vector width, the
/// hardware intrinsics and the number of threads (docs/verification.md). The merge-hashes program computes every method
/// on fixed inputs; here it runs with intrinsics off, without AVX, and on 1 and 2 cores, and must agree with this process.
/// </summary>
public sealed class ReproducibleMergeTests
{
    public static TheoryData<string, string> Hosts => new()
    {
        { "hardware intrinsics off", "DOTNET_EnableHWIntrinsic=0" },
        { "no AVX (128-bit vectors)", "DOTNET_EnableAVX=0" },
        { "one core", "DOTNET_PROCESSOR_COUNT=1" },
        { "two cores", "DOTNET_PROCESSOR_COUNT=2" },
    };

    [Theory]
    [MemberData(nameof(Hosts))]
    public void Every_merge_gives_the_same_bytes_on_another_kind_of_host(string host, string variable)
    {
        var here = MergeHashes.MergeHashes.Compute();
        string program = Path.Combine(AppContext.BaseDirectory, "MergeHashes.dll");
        var (name, value) = (variable.Split('=')[0], variable.Split('=')[1]);
        var (exit, output) = ProgramRun.Run(TimeSpan.FromMinutes(3), new Dictionary<string, string> { [name] = value }, "dotnet", program);
        Assert.True(exit == 0, $"{host}: {output}");
        var there = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(MergeHashes.MergeHashes.Methods.Count, here.Count);
        Assert.Equal(here, there);
    }

    [Fact]
    public void Every_method_gives_a_distinct_result_so_the_comparison_means_something()
    {
        var hashes = MergeHashes.MergeHashes.Compute().Select(line => line.Split(' ')[1]).ToList();
        // mean and mean-streamed must agree; every other pair must differ (a constant output would pass the host test).
        Assert.Equal(hashes[0], hashes[^1]);
        Assert.Equal(hashes.Count - 1, hashes.Distinct().Count());
    }

    [Fact]
    public void Squared_distance_does_not_depend_on_where_the_spans_are_cut()
    {
        var random = new Random(5);
        float[] a = [.. Enumerable.Range(0, 3 * Reproducible.ChunkElements + 5).Select(_ => (float)random.NextDouble())];
        float[] b = [.. a.Select(x => x * 1.5f - 0.25f)];
        double whole = Reproducible.SquaredDistance(a, b);
        double exact = 0;
        for (int i = 0; i < a.Length; i++)
        {
            exact += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        }
        Assert.True(Math.Abs(exact - whole) <= 1e-12 * exact, $"{whole} vs {exact}");
        Assert.Equal(whole, Reproducible.SquaredDistance(a.AsSpan(), b.AsSpan()));
    }

    [Fact]
    public void A_mean_of_finite_float_extremes_never_overflows_whatever_the_weights()
    {
        float[] max = [float.MaxValue, -float.MaxValue, float.MaxValue];
        var models = new[]
        {
            new Contribution("a", new Model.ModelState([Model.Tensor.FromFloats("w", [3], max)]), int.MaxValue),
            new Contribution("b", new Model.ModelState([Model.Tensor.FromFloats("w", [3], [float.MaxValue, -float.MaxValue, 1e38f])]), 1),
            new Contribution("c", new Model.ModelState([Model.Tensor.FromFloats("w", [3], [float.MaxValue, -1, float.MaxValue])]), 3),
        };
        foreach (var method in new IMergeMethod[] { new WeightedMean(), new TrimmedMean(0), new CoordinateMedian(), new Krum(0, 3) })
        {
            var merged = method.Merge(models).Model;
            Assert.True(float.IsFinite(merged["w"].AsSpan<float>()[0]) && float.IsFinite(merged["w"].AsSpan<float>()[1]), method.Name);
            Assert.Null(Model.ModelChecks.FirstNonFinite(merged));
        }
        var accumulator = new MeanAccumulator(models[0].Model.Signature, Reproducible.Sum(models.Select(m => m.Weight)));
        foreach (var model in models)
        {
            accumulator.Add(model);
        }
        Assert.Null(Model.ModelChecks.FirstNonFinite(accumulator.Finish()));
        Assert.NotEqual(ContentHash.None, SafetensorsWriter.Hash(models[0].Model));
    }
}
