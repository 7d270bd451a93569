using SwarmLearning.Core.Merging;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

public sealed class MergeErrorTests
{
    public static TheoryData<string> Methods() => ["mean", "coordmedian", "geomedian", "trimmedmean", "krum:f=0", "centredclip"];

    private static Contribution C(string id, ModelState model, double weight = 1) => new(id, model, weight);

    [Theory]
    [MemberData(nameof(Methods))]
    public void A_different_shape_is_refused_naming_the_node_and_the_tensor(string method)
    {
        var odd = new ModelState([Tensor.FromFloats("fc1.weight", [4, 3], new float[12]), .. TestModels.Random(2).Tensors.Skip(1)]);
        var error = Assert.Throws<MergeException>(() => MergeMethods.Parse(method).Merge(
            [C("a", TestModels.Random(1)), C("b", odd), C("c", TestModels.Random(3))]));
        Assert.Contains("node 'b' tensor 'fc1.weight' has shape [4,3]", error.Message);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void NaN_or_infinity_is_refused_naming_the_node_and_the_tensor(string method)
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var poisoned = TestModels.Random(2);
            poisoned["fc1.bias"].AsSpan<float>()[1] = bad;
            var error = Assert.Throws<MergeException>(() => MergeMethods.Parse(method).Merge(
                [C("a", TestModels.Random(1)), C("b", poisoned), C("c", TestModels.Random(3))]));
            Assert.Contains("node 'b' sent tensor 'fc1.bias' with NaN or infinite values", error.Message);
        }
    }

    [Fact]
    public void A_different_dtype_a_missing_tensor_and_another_order_are_each_refused()
    {
        var baseModel = TestModels.Random(1).Tensors;
        var halfBias = new ModelState([baseModel[0], new Tensor("fc1.bias", DType.F16, [5], new byte[10]), baseModel[2]]);
        var missing = new ModelState(baseModel.Take(2));
        var reordered = new ModelState([baseModel[1], baseModel[0], baseModel[2]]);
        var mean = new WeightedMean();
        Assert.Contains("tensor 'fc1.bias' is F16 but node 'a' has F32",
            Assert.Throws<MergeException>(() => mean.Merge([C("a", TestModels.Random(1)), C("b", halfBias)])).Message);
        Assert.Contains("node 'b' lacks tensor 'bn.num_batches_tracked'",
            Assert.Throws<MergeException>(() => mean.Merge([C("a", TestModels.Random(1)), C("b", missing)])).Message);
        Assert.Contains("same tensors in the same order",
            Assert.Throws<MergeException>(() => mean.Merge([C("a", TestModels.Random(1)), C("b", reordered)])).Message);
    }

    [Fact]
    public void Bad_weights_duplicate_nodes_and_empty_input_are_refused()
    {
        var mean = new WeightedMean();
        Assert.Contains("no node contributed", Assert.Throws<MergeException>(() => mean.Merge([])).Message);
        Assert.Contains("weight 0", Assert.Throws<MergeException>(() => mean.Merge([C("a", TestModels.Random(1), 0)])).Message);
        Assert.Contains("weight -1", Assert.Throws<MergeException>(() => mean.Merge([C("a", TestModels.Random(1), -1)])).Message);
        Assert.Contains("contributes twice", Assert.Throws<MergeException>(() =>
            mean.Merge([C("a", TestModels.Random(1)), C("a", TestModels.Random(2))])).Message);
    }

    [Fact]
    public void Krum_explains_how_many_models_it_needs_and_names_are_parsed_with_clear_errors()
    {
        var error = Assert.Throws<MergeException>(() => new Krum(1).Merge([C("a", TestModels.Random(1)), C("b", TestModels.Random(2))]));
        Assert.Contains("needs at least 5 models", error.Message);
        Assert.Contains("unknown merge method 'average'", Assert.Throws<MergeException>(() => MergeMethods.Parse("average")).Message);
        Assert.Contains("out of range", Assert.Throws<MergeException>(() => MergeMethods.Parse("trimmedmean:0.5")).Message);
        Assert.Equal("krum:f=2,m=3", MergeMethods.Parse("krum:f=2,m=3").Name);
        Assert.Equal("trimmedmean:0.1", MergeMethods.Parse("TrimmedMean:0.1").Name);
    }

    [Fact]
    public void F64_tensors_are_refused_with_what_to_do()
    {
        var model = new ModelState([new Tensor("w", DType.F64, [1], new byte[8])]);
        Assert.Contains("convert the model to float32", Assert.Throws<MergeException>(() =>
            new WeightedMean().Merge([C("a", model), C("b", model)])).Message);
    }
}
