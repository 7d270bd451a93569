using SwarmLearning.Core.Model;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;
using DType = SwarmLearning.Core.Model.DType;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// SCAFFOLD's control variates (Karimireddy et al., 2020) against client drift under label skew: each local gradient
/// is corrected by <c>c - c_i</c>, where <c>c_i</c> is this node's average gradient over its last round and <c>c</c>
/// the swarm's. No new protocol: <c>c_i</c> travels in the node's parameter file as extra tensors named
/// <c>swarm.mean-only.scaffold.c.PARAMETER</c>, so the merge's weighted mean of them is <c>c</c> (server momentum
/// leaves mean-only tensors alone), and every node reads it back from the merged model.
/// </summary>
internal sealed class ControlVariates : IDisposable
{
    public const string Prefix = Core.Merging.ServerMomentum.MeanOnlyPrefix + "scaffold.c.";
    private readonly (string Name, TorchTensor Parameter)[] _parameters;
    private readonly TorchTensor[] _own, _swarm, _sum;
    private int _steps;

    public ControlVariates(nn.Module module)
    {
        _parameters = [.. module.named_parameters().Select(p => (p.name, (TorchTensor)p.parameter))];
        _own = [.. _parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope())];
        _swarm = [.. _parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope())];
        _sum = [.. _parameters.Select(p => zeros_like(p.Parameter).DetachFromDisposeScope())];
    }

    /// <summary>After <c>backward()</c>: adds the raw gradients to this round's sum, then corrects them by c - c_i.</summary>
    public void Correct()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var grad = _parameters[i].Parameter.grad;
            if (grad is null)
            {
                continue;
            }
            _sum[i].add_(grad);
            grad.add_(_swarm[i]).sub_(_own[i]);
        }
        _steps++;
    }

    /// <summary>The state to share: the network's plus this node's c_i, renewed from the gradients since the last call.</summary>
    public ModelState Attach(ModelState network)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (_steps > 0)
        {
            for (int i = 0; i < _own.Length; i++)
            {
                _own[i].copy_(_sum[i] / _steps);
                _sum[i].zero_();
            }
            _steps = 0;
        }
        var extra = _parameters.Select((p, i) =>
            Core.Model.Tensor.FromFloats(Prefix + p.Name, _own[i].shape, _own[i].contiguous().data<float>().ToArray()));
        return new ModelState([.. network.Tensors, .. extra], network.Metadata);
    }

    /// <summary>Takes the swarm's c from a merged state (when it carries one) and returns the network's part.</summary>
    public ModelState Detach(ModelState merged)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (merged.TryGet(Prefix + _parameters[i].Name, out var c))
            {
                if (c.DType != DType.F32 || c.ElementCount != _swarm[i].NumberOfElements)
                {
                    throw new Core.SwarmException($"the merged model's control variate '{c.Name}' has {c.ElementCount} {c.DType} values but this network needs {_swarm[i].NumberOfElements} F32: were all nodes started with the same model and --scaffold?");
                }
                _swarm[i].bytes = c.Data;
            }
        }
        return new ModelState([.. merged.Tensors.Where(t => !t.Name.StartsWith(Prefix, StringComparison.Ordinal))], merged.Metadata);
    }

    public void Dispose()
    {
        foreach (var tensor in _own.Concat(_swarm).Concat(_sum))
        {
            tensor.Dispose();
        }
    }
}
