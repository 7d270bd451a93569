namespace SwarmLearning.Core.Model;

/// <summary>A tensor's name, dtype and shape: what must agree between nodes, without the values.</summary>
public sealed record TensorSpec(string Name, DType DType, IReadOnlyList<long> Shape)
{
    /// <summary>Formats the shape as "[a,b,c]".</summary>
    public string ShapeText => $"[{string.Join(',', Shape)}]";

    /// <inheritdoc />
    public bool Equals(TensorSpec? other) =>
        other is not null && Name == other.Name && DType == other.DType && Shape.SequenceEqual(other.Shape);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name);
        hash.Add(DType);
        foreach (long dim in Shape)
        {
            hash.Add(dim);
        }
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {DType}{ShapeText}";
}
