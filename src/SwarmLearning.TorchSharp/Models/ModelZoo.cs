using SwarmLearning.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SwarmLearning.TorchSharp.Models;

/// <summary>The networks the simulator trains on 28x28 images: the seed says NN, CNN, RNN and LSTM all work in a swarm.</summary>
public static class ModelZoo
{
    /// <summary>The accepted model names.</summary>
    public const string Help = "mlp, cnn, lstm";

    /// <summary>Creates a freshly initialised network (seeded through torch.manual_seed by the caller).</summary>
    public static Module<Tensor, Tensor> Create(string name) => name.Trim().ToLowerInvariant() switch
    {
        "mlp" => Sequential(
            ("flatten", Flatten()),
            ("fc1", Linear(28 * 28, 256)), ("relu1", ReLU()), ("drop1", Dropout(0.2)),
            ("fc2", Linear(256, 128)), ("relu2", ReLU()),
            ("fc3", Linear(128, 10))),
        "cnn" => Sequential(
            ("conv1", Conv2d(1, 32, 3, padding: 1)), ("relu1", ReLU()), ("pool1", MaxPool2d(2)),
            ("conv2", Conv2d(32, 64, 3, padding: 1)), ("relu2", ReLU()), ("pool2", MaxPool2d(2)),
            ("flatten", Flatten()), ("drop", Dropout(0.25)),
            ("fc1", Linear(64 * 7 * 7, 128)), ("relu3", ReLU()),
            ("fc2", Linear(128, 10))),
        "lstm" => new RowLstm(),
        _ => throw new SwarmException($"unknown model '{name}'; use one of: {Help}"),
    };

    /// <summary>Reads an image as a sequence of 28 rows of 28 pixels and classifies from the LSTM's last output.</summary>
    private sealed class RowLstm : Module<Tensor, Tensor>
    {
        private readonly LSTM _lstm;
        private readonly Linear _head;

        public RowLstm() : base("row_lstm")
        {
            _lstm = LSTM(28, 128, batchFirst: true);
            _head = Linear(128, 10);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var sequence = input.reshape(input.shape[0], 28, 28);
            var (output, hidden, cell) = _lstm.call(sequence);
            hidden.Dispose();
            cell.Dispose();
            using var last = output.select(1, -1);
            output.Dispose();
            return _head.call(last);
        }
    }
}
