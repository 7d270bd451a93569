namespace SwarmLearning.Core.Model;

/// <summary>The ordered tensor specs of a model: every node of one training must have the same signature.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorSpec> Tensors)
{
    /// <summary>Returns null when <paramref name="actual"/> equals this signature, else a sentence naming the first difference.</summary>
    public string? DescribeDifference(ModelSignature actual)
    {
        var expectedByName = Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var spec in actual.Tensors)
        {
            if (!expectedByName.TryGetValue(spec.Name, out var expected))
            {
                return $"tensor '{spec.Name}' is not in the expected model";
            }
            if (expected.DType != spec.DType)
            {
                return $"tensor '{spec.Name}' has dtype {spec.DType} but {expected.DType} is expected";
            }
            if (!expected.Shape.SequenceEqual(spec.Shape))
            {
                return $"tensor '{spec.Name}' has shape {spec.ShapeText} but {expected.ShapeText} is expected";
            }
        }
        var actualNames = actual.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var missing = Tensors.FirstOrDefault(t => !actualNames.Contains(t.Name));
        if (missing is not null)
        {
            return $"tensor '{missing.Name}' is missing";
        }
        if (!Tensors.Select(t => t.Name).SequenceEqual(actual.Tensors.Select(t => t.Name), StringComparer.Ordinal))
        {
            return "the tensors are the same but in a different order";
        }
        return null;
    }

    /// <summary>The total number of elements over all tensors.</summary>
    public long ElementCount => Tensors.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    /// <inheritdoc />
    public bool Equals(ModelSignature? other) => other is not null && Tensors.SequenceEqual(other.Tensors);

    /// <inheritdoc />
    public override int GetHashCode() => Tensors.Aggregate(0, (h, t) => HashCode.Combine(h, t));
}
