namespace SwarmLearning.Core.Model;

/// <summary>A model's whole state: ordered named tensors (weights, buffers), as a state dict holds them.</summary>
public sealed class ModelState
{
    private readonly Dictionary<string, Tensor> _byName;

    /// <summary>Creates a model state; names must be unique.</summary>
    public ModelState(IEnumerable<Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Tensors = [.. tensors];
        _byName = new Dictionary<string, Tensor>(Tensors.Count, StringComparer.Ordinal);
        foreach (var tensor in Tensors)
        {
            if (!_byName.TryAdd(tensor.Name, tensor))
            {
                throw new ArgumentException($"tensor name '{tensor.Name}' appears twice; names in a model must be unique");
            }
        }
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The tensors in their order.</summary>
    public IReadOnlyList<Tensor> Tensors { get; }

    /// <summary>Free-form string metadata carried in the file header (safetensors "__metadata__").</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The names, dtypes and shapes of the tensors.</summary>
    public ModelSignature Signature => new([.. Tensors.Select(t => t.Spec)]);

    /// <summary>The total size of the tensor data in bytes.</summary>
    public long ByteCount => Tensors.Sum(t => t.Data.LongLength);

    /// <summary>Returns the tensor with this name.</summary>
    public Tensor this[string name] => _byName.TryGetValue(name, out var tensor)
        ? tensor
        : throw new KeyNotFoundException($"the model has no tensor named '{name}'");

    /// <summary>Returns true and the tensor when the model has one with this name.</summary>
    public bool TryGet(string name, out Tensor tensor) => _byName.TryGetValue(name, out tensor!);

    /// <summary>Returns a deep copy (tensor data included).</summary>
    public ModelState Clone() =>
        new(Tensors.Select(t => new Tensor(t.Name, t.DType, t.Shape, (byte[])t.Data.Clone())), Metadata);
}
