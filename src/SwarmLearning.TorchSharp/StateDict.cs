using SwarmLearning.Core;
using SwarmLearning.Core.Model;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace SwarmLearning.TorchSharp;

/// <summary>Moves a TorchSharp module's whole state (parameters and buffers, keyed by name) to and from a <see cref="ModelState"/>.</summary>
public static class StateDict
{
    /// <summary>Copies the module's state dict, in its order, into a model state.</summary>
    public static ModelState From(nn.Module module)
    {
        var tensors = new List<Core.Model.Tensor>();
        foreach (var (name, value) in module.state_dict())
        {
            using var cpu = value.detach().cpu().contiguous();
            tensors.Add(new Core.Model.Tensor(name, ToDType(cpu.dtype, name), cpu.shape, cpu.bytes.ToArray()));
        }
        return new ModelState(tensors);
    }

    /// <summary>Loads a model state into the module in place; every tensor must match by name, dtype and shape.</summary>
    public static void Load(nn.Module module, ModelState model)
    {
        var target = module.state_dict();
        var expected = new ModelSignature([.. target.Select(p => new TensorSpec(p.Key, ToDType(p.Value.dtype, p.Key), p.Value.shape))]);
        string? difference = expected.DescribeDifference(model.Signature);
        if (difference is not null)
        {
            throw new SwarmException($"cannot load the model into this network: {difference}");
        }
        using (no_grad())
        {
            foreach (var tensor in model.Tensors)
            {
                TorchTensor destination = target[tensor.Name];
                if (destination.device_type == DeviceType.CPU && destination.is_contiguous())
                {
                    destination.bytes = tensor.Data;
                }
                else
                {
                    using var source = torch.zeros(destination.shape, destination.dtype);
                    source.bytes = tensor.Data;
                    destination.copy_(source);
                }
            }
        }
    }

    private static DType ToDType(ScalarType type, string name) => type switch
    {
        ScalarType.Float32 => DType.F32,
        ScalarType.Float16 => DType.F16,
        ScalarType.BFloat16 => DType.BF16,
        ScalarType.Float64 => DType.F64,
        ScalarType.Int64 => DType.I64,
        ScalarType.Int32 => DType.I32,
        ScalarType.Int16 => DType.I16,
        ScalarType.Int8 => DType.I8,
        ScalarType.Byte => DType.U8,
        ScalarType.Bool => DType.Bool,
        _ => throw new SwarmException($"tensor '{name}' has dtype {type}, which parameter files do not carry"),
    };
}
