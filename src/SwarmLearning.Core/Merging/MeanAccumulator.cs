using System.Runtime.InteropServices;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>
/// A weighted mean built one model at a time, for a leader that streams contributions from disk: memory is the
/// running sum (in double: twice the model) plus the model being added, whatever the number of nodes.
/// Add models in node-id order to get the same bits as <see cref="WeightedMean"/> (the sums are <see cref="Reproducible"/>).
/// </summary>
public sealed class MeanAccumulator
{
    private readonly ModelSignature _signature;
    private readonly double _totalWeight;
    private readonly double[]?[] _sums;
    private readonly ModelState? _reuse;
    private IReadOnlyDictionary<string, string>? _metadata;
    private readonly List<Contribution> _integerParts = [];
    private readonly HashSet<string> _added = new(StringComparer.Ordinal);
    private double _addedWeight;

    /// <summary>Starts an accumulation for models of <paramref name="signature"/> whose weights sum to <paramref name="totalWeight"/>.</summary>
    /// <param name="signature">The tensors every model must have.</param>
    /// <param name="totalWeight">The sum of the weights of the models that will be added.</param>
    /// <param name="reuse">A model whose float32 buffers of the same shape may hold the result (see <see cref="IMergeMethod.Merge"/>).</param>
    public MeanAccumulator(ModelSignature signature, double totalWeight, ModelState? reuse = null)
    {
        if (!(totalWeight > 0) || !double.IsFinite(totalWeight))
        {
            throw new MergeException($"the total weight of a mean must be positive and finite, not {totalWeight}");
        }
        _signature = signature;
        _totalWeight = totalWeight;
        _reuse = reuse;
        _sums = [.. signature.Tensors.Select(t => t.DType.IsFloat() ? new double[Tensor.ByteCount(t.DType, t.Shape) / t.DType.SizeOf()] : null)];
    }

    /// <summary>Adds one node's model; checks its tensors and values first.</summary>
    public void Add(Contribution contribution)
    {
        if (!_added.Add(contribution.NodeId))
        {
            throw new MergeException($"node '{contribution.NodeId}' was already added to this merge");
        }
        string? difference = _signature.DescribeDifference(contribution.Model.Signature);
        if (difference is not null)
        {
            throw new MergeException($"node '{contribution.NodeId}': {difference}");
        }
        MergeInputs.RequireFinite(contribution);
        double scale = contribution.Weight / _totalWeight;
        for (int t = 0; t < _sums.Length; t++)
        {
            if (_sums[t] is { } sum)
            {
                var values = MemoryMarshal.Cast<byte, float>(FloatConversion.ToFloat32Bytes(contribution.Model.Tensors[t]).AsSpan());
                Reproducible.AddScaled(values, scale, sum);
            }
        }
        _metadata ??= contribution.Model.Metadata;
        _addedWeight += contribution.Weight;
        // Integer buffers are tiny; keep only those (sharing arrays, not copying) for the median at the end.
        var integers = contribution.Model.Tensors.Where(t => !t.DType.IsFloat());
        _integerParts.Add(contribution with { Model = new ModelState(integers) });
    }

    /// <summary>Returns the mean; throws if the weights added do not sum to the total announced.</summary>
    public ModelState Finish()
    {
        if (Math.Abs(_addedWeight - _totalWeight) > 1e-9 * _totalWeight)
        {
            throw new MergeException($"the models added weigh {_addedWeight} in all but the merge expected {_totalWeight}: a contribution is missing");
        }
        MergeInputs? integerInputs = _integerParts[0].Model.Tensors.Count > 0 ? MergeInputs.Validate(_integerParts, false) : null;
        var tensors = new List<Tensor>();
        for (int t = 0, i = 0; t < _sums.Length; t++)
        {
            var spec = _signature.Tensors[t];
            if (_sums[t] is { } sum)
            {
                // Narrowed tensor by tensor, each sum dropped once done: the peak stays near twice the model.
                var floats = ElementwiseMerge.ReusableBuffer(_reuse, spec) ?? GC.AllocateUninitializedArray<byte>(sum.Length * 4);
                Reproducible.Narrow(sum, MemoryMarshal.Cast<byte, float>(floats.AsSpan()));
                _sums[t] = null;
                tensors.Add(FloatConversion.FromFloat32Bytes(spec.Name, spec.DType, spec.Shape, floats));
            }
            else
            {
                tensors.Add(IntegerMedian.Merge(integerInputs!, i++));
            }
        }
        return new ModelState(tensors, _metadata);
    }
}
