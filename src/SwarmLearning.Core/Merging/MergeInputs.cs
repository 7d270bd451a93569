using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Merging;

/// <summary>Validated merge inputs in canonical order (by node id), with weights normalised to sum to 1.</summary>
internal sealed class MergeInputs
{
    private MergeInputs(IReadOnlyList<Contribution> contributions, double[] weights)
    {
        Contributions = contributions;
        Weights = weights;
        Signature = contributions[0].Model.Signature;
    }

    /// <summary>The contributions with positive weight, sorted by node id so results do not depend on arrival order.</summary>
    public IReadOnlyList<Contribution> Contributions { get; }

    /// <summary>Normalised weights, parallel to <see cref="Contributions"/>.</summary>
    public double[] Weights { get; }

    /// <summary>The common signature.</summary>
    public ModelSignature Signature { get; }

    public int Count => Contributions.Count;

    /// <summary>Checks ids, weights, names, dtypes and shapes; optionally refuses non-finite values up front.</summary>
    public static MergeInputs Validate(IReadOnlyList<Contribution> contributions, bool checkFinite)
    {
        if (contributions.Count == 0)
        {
            throw new MergeException("nothing to merge: no node contributed a model");
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in contributions)
        {
            if (string.IsNullOrEmpty(c.NodeId) || !ids.Add(c.NodeId))
            {
                throw new MergeException($"node id '{c.NodeId}' is empty or contributes twice; each node contributes one model per merge");
            }
            if (!double.IsFinite(c.Weight) || c.Weight < 0)
            {
                throw new MergeException($"node '{c.NodeId}' has weight {c.Weight}; weights must be finite and not negative");
            }
        }
        var ordered = contributions.Where(c => c.Weight > 0).OrderBy(c => c.NodeId, StringComparer.Ordinal).ToList();
        if (ordered.Count == 0)
        {
            throw new MergeException("every contribution has weight 0, so there is nothing to average");
        }
        CheckSameTensors(ordered);
        if (checkFinite)
        {
            foreach (var c in ordered)
            {
                RequireFinite(c);
            }
        }
        double total = Reproducible.Sum(ordered.Select(c => c.Weight));
        return new MergeInputs(ordered, [.. ordered.Select(c => c.Weight / total)]);
    }

    /// <summary>Throws naming the first contribution and tensor holding NaN or infinity.</summary>
    public static void RequireFinite(Contribution contribution)
    {
        string? tensor = ModelChecks.FirstNonFinite(contribution.Model);
        if (tensor is not null)
        {
            throw new MergeException($"node '{contribution.NodeId}' sent tensor '{tensor}' with NaN or infinite values; that model is refused (its training diverged)");
        }
    }

    private static void CheckSameTensors(List<Contribution> ordered)
    {
        var reference = ordered[0];
        var expected = reference.Model.Tensors;
        foreach (var tensor in expected)
        {
            if (tensor.DType == DType.F64)
            {
                throw new MergeException($"tensor '{tensor.Name}' is F64; merging supports F32, F16 and BF16 floats and integer buffers (convert the model to float32)");
            }
        }
        foreach (var c in ordered.Skip(1))
        {
            var actual = c.Model.Tensors;
            for (int i = 0; i < Math.Max(expected.Count, actual.Count); i++)
            {
                if (i >= actual.Count)
                {
                    throw new MergeException($"node '{c.NodeId}' lacks tensor '{expected[i].Name}' that node '{reference.NodeId}' has");
                }
                if (i >= expected.Count)
                {
                    throw new MergeException($"node '{c.NodeId}' has tensor '{actual[i].Name}' that node '{reference.NodeId}' lacks");
                }
                var (e, a) = (expected[i].Spec, actual[i].Spec);
                if (e.Name != a.Name)
                {
                    throw new MergeException($"node '{c.NodeId}' has tensor '{a.Name}' where node '{reference.NodeId}' has '{e.Name}' (tensor {i}); models must have the same tensors in the same order");
                }
                if (e.DType != a.DType)
                {
                    throw new MergeException($"node '{c.NodeId}' tensor '{a.Name}' is {a.DType} but node '{reference.NodeId}' has {e.DType}");
                }
                if (!e.Shape.SequenceEqual(a.Shape))
                {
                    throw new MergeException($"node '{c.NodeId}' tensor '{a.Name}' has shape {a.ShapeText} but node '{reference.NodeId}' has {e.ShapeText}");
                }
            }
        }
    }
}
