using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

public class ServerMomentumTests
{
    private static ModelState Model(params float[] values) =>
        new([Tensor.FromFloats("w", [values.Length], values), Tensor.FromInt64("steps", [1], [7]),
            Tensor.FromFloats(ServerMomentum.MeanOnlyPrefix + "c", [values.Length], values)]);

    [Fact]
    public void Fedavgm_adds_beta_times_the_last_merged_update_to_the_mean()
    {
        var method = Assert.IsType<ServerMomentum>(MergeMethods.Parse("fedavgm:0.5"));
        var merged = method.Merge([new Contribution("a", Model(1, 2), 1), new Contribution("b", Model(3, 6), 1)]).Model;
        method.ApplyMomentum(merged, previous: Model(10, 10), beforePrevious: Model(6, 14));
        // mean (2, 4) + 0.5 * ((10, 10) - (6, 14)) = (4, 2); integer buffers keep the mean's value.
        Assert.Equal([4f, 2f], merged["w"].AsSpan<float>().ToArray());
        Assert.Equal(7L, merged["steps"].AsSpan<long>()[0]);
        Assert.Equal([2f, 4f], merged[ServerMomentum.MeanOnlyPrefix + "c"].AsSpan<float>().ToArray());
        Assert.Equal("fedavgm:0.5", method.Name);
        Assert.Throws<MergeException>(() => MergeMethods.Parse("fedavgm:1.5"));
    }
}
