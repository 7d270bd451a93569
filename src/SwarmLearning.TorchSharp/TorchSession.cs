using ModelState = SwarmLearning.Core.Model.ModelState;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// One node's ML program in TorchSharp: a network, its optimizer and batches (<see cref="TrainingRecipe"/>), the node's own
/// images (shuffled each epoch, seeded) and validation images. <see cref="Protocol.Session.SwarmProgram"/> trains it in a
/// swarm, deployed or simulated; the swarm callback loads merged models through <see cref="LoadParameters"/>, so the
/// recipe's levers (FedProx's anchor, SCAFFOLD's variates, the optimizer reset) act wherever it runs.
/// </summary>
public sealed class TorchSession : IMlSession, IDisposable
{
    private readonly Module<Tensor, Tensor> _model;
    private readonly TrainingRecipe _recipe;
    private optim.Optimizer _optimizer;
    private long _step;
    private readonly Tensor _images, _labels, _validationImages, _validationLabels;
    private readonly Random _random;
    private readonly int _batchSize;
    private int[] _order;
    private int _cursor;
    private Tensor[]? _anchor;
    private readonly ControlVariates? _variates;
    private readonly Tensor? _logPrior;

    /// <summary>Creates the network <paramref name="modelName"/> (seeded) over the node's <paramref name="data"/>.</summary>
    /// <param name="modelName">mlp, cnn or lstm.</param>
    /// <param name="data">The node's training images.</param>
    /// <param name="validation">Images for the loss and accuracy reported after each merge.</param>
    /// <param name="seed">Seeds the batch order and the training's randomness (and the initial weights, unless <paramref name="initialSeed"/>).</param>
    /// <param name="recipe">Optimizer, learning rate and batch size (default: <see cref="TrainingRecipe"/>'s).</param>
    /// <param name="initialSeed">
    /// Seeds the initial weights: every node of a swarm given the same one starts from the same model, so the contract's
    /// round 0 is the model most nodes hold rather than one node's word (docs/verification.md, "Round 0").
    /// </param>
    public TorchSession(string modelName, ImageSet data, ImageSet validation, int seed, TrainingRecipe? recipe = null, int? initialSeed = null)
    {
        torch.manual_seed(initialSeed ?? seed);
        _model = Models.ModelZoo.Create(modelName);
        torch.manual_seed(seed);
        _recipe = recipe ?? new TrainingRecipe();
        _recipe.Validate();
        _optimizer = _recipe.Create(_model.parameters());
        _variates = _recipe.ControlVariates ? new ControlVariates(_model) : null;
        _images = ToImages(data);
        _labels = torch.tensor(data.Labels.Select(l => (long)l).ToArray());
        _logPrior = _recipe.LogitAdjust ? LogPrior(data.Labels) : null;
        _validationImages = ToImages(validation);
        _validationLabels = torch.tensor(validation.Labels.Select(l => (long)l).ToArray());
        _random = new Random(seed);
        _batchSize = _recipe.BatchSize;
        _order = Shuffled(data.Count);
    }

    /// <inheritdoc />
    public long SampleCount => _labels.shape[0];

    /// <inheritdoc />
    public int BatchesPerEpoch => Math.Max(1, (int)(_labels.shape[0] + _batchSize - 1) / _batchSize);

    /// <summary>The network.</summary>
    public Module<Tensor, Tensor> Model => _model;

    /// <inheritdoc />
    public Task TrainBatchAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_cursor >= _order.Length)
        {
            _order = Shuffled(_order.Length);
            _cursor = 0;
        }
        int count = Math.Min(_batchSize, _order.Length - _cursor);
        using var scope = NewDisposeScope();
        var index = torch.tensor(_order.AsSpan(_cursor, count).ToArray().Select(i => (long)i).ToArray());
        _cursor += count;
        _model.train();
        _optimizer.zero_grad();
        var logits = _model.call(_images.index_select(0, index));
        var loss = functional.cross_entropy(_logPrior is null ? logits : logits + _logPrior, _labels.index_select(0, index));
        loss.backward();
        PullTowardAnchor();
        _variates?.Correct();
        double rate = _recipe.RateAt(_step++);
        foreach (var group in _optimizer.ParamGroups)
        {
            group.LearningRate = rate;
        }
        _optimizer.step();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public ModelState GetParameters() => _variates is null ? StateDict.From(_model) : _variates.Attach(StateDict.From(_model));

    /// <inheritdoc />
    public void LoadParameters(ModelState model)
    {
        StateDict.Load(_model, _variates is null ? model : _variates.Detach(model));
        if (_recipe.Proximal > 0)
        {
            KeepAnchor();
        }
        if (_recipe.ResetOnLoad)
        {
            _optimizer.Dispose();
            _optimizer = _recipe.Create(_model.parameters());
        }
    }

    /// <summary>log of the node's label frequencies, smoothed by one image per class so no class is impossible.</summary>
    private static Tensor LogPrior(byte[] labels)
    {
        var counts = new double[FashionMnist.ClassNames.Count];
        foreach (byte label in labels)
        {
            counts[label]++;
        }
        return torch.tensor(counts.Select(c => (float)Math.Log((c + 1) / (labels.Length + counts.Length))).ToArray()).DetachFromDisposeScope();
    }

    /// <summary>FedProx: adds mu * (w - w_merged) to every gradient, the gradient of (mu / 2) * |w - w_merged|^2.</summary>
    private void PullTowardAnchor()
    {
        if (_anchor is null)
        {
            return;
        }
        using var noGrad = no_grad();
        int i = 0;
        foreach (var parameter in _model.parameters())
        {
            parameter.grad?.add_(parameter - _anchor[i], alpha: _recipe.Proximal);
            i++;
        }
    }

    /// <summary>Copies the parameters just loaded: the point the proximal term pulls toward until the next merge.</summary>
    private void KeepAnchor()
    {
        if (_anchor is not null)
        {
            foreach (var tensor in _anchor)
            {
                tensor.Dispose();
            }
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _anchor = _model.parameters().Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    /// <inheritdoc />
    public Evaluation? Evaluate() => Score(_validationImages, _validationLabels);

    /// <summary>Loss and accuracy on a labelled set.</summary>
    public Evaluation Score(ImageSet data)
    {
        using var images = ToImages(data);
        using var labels = torch.tensor(data.Labels.Select(l => (long)l).ToArray());
        return Score(images, labels);
    }

    private Evaluation Score(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _model.eval();
        double loss = 0;
        long correct = 0, count = labels.shape[0];
        for (long start = 0; start < count; start += 1000)
        {
            long length = Math.Min(1000, count - start);
            var logits = _model.call(images.narrow(0, start, length));
            var target = labels.narrow(0, start, length);
            loss += functional.cross_entropy(logits, target, reduction: Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(target).sum().item<long>();
        }
        return new Evaluation(loss / count, (double)correct / count);
    }

    private static Tensor ToImages(ImageSet data) => torch.tensor(data.Pixels, [data.Count, 1, 28, 28]);

    private int[] Shuffled(int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        _random.Shuffle(order);
        return order;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _model.Dispose();
        _optimizer.Dispose();
        _variates?.Dispose();
        _logPrior?.Dispose();
        _images.Dispose();
        _labels.Dispose();
        _validationImages.Dispose();
        _validationLabels.Dispose();
        foreach (var tensor in _anchor ?? [])
        {
            tensor.Dispose();
        }
    }
}
