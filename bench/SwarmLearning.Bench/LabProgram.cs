using System.Diagnostics;
using System.Globalization;
using SwarmLearning.Core.Model;
using SwarmLearning.MlClient;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Bench;

/// <summary>
/// `lab-program --parameters P --rounds R --min-peers M --seed S`: the ML program of the bandwidth benchmark
/// (bench/lab-bandwidth.sh), run by `swarm run-sl` like any program. Its "training" only nudges one value of a model of
/// P float32 parameters, and it syncs after every batch, so a round is all network, hashing and merging. It prints
/// "round R synced at T ms" after each merge it loads (T on its own monotonic clock), which the harness reads.
/// </summary>
internal sealed class LabProgram : IMlSession
{
    private readonly ModelState _model;
    private float _nudge;

    private LabProgram(long parameters, int seed) => _model = Models.Make(seed, parameters);

    public int BatchesPerEpoch => 1;

    public static async Task<int> RunAsync(string[] args)
    {
        long Arg(string name, long fallback) => Array.IndexOf(args, "--" + name) is int i and >= 0 && i + 1 < args.Length
            ? long.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        var program = new LabProgram(Arg("parameters", 1_000_000), (int)Arg("seed", 1));
        int rounds = (int)Arg("rounds", 5);
        var parameters = new SwarmParameters(1, (int)Arg("min-peers", 2)) { TrainingContract = "bandwidth", TotalEpochs = rounds };
        using var channel = new SwarmMlClient();
        var swarm = new SwarmCallbackSession(parameters, program, channel);
        var clock = Stopwatch.StartNew();
        long printed = 0;
        await SwarmProgram.RunAsync(program, swarm, rounds, progress =>
        {
            if (progress.Round > printed)
            {
                printed = progress.Round;
                Console.WriteLine($"round {progress.Round} synced at {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
        }, CancellationToken.None);
        Console.WriteLine($"final model {swarm.Last!.Sha256} round {swarm.Last.Round}");
        return 0;
    }

    public ModelState GetParameters() => _model;

    // What the program holds does not matter to a round's time, only that each check-in is a new model of the same size.
    public void LoadParameters(ModelState model)
    {
    }

    public Task TrainBatchAsync(CancellationToken cancellationToken)
    {
        _nudge += 1e-3f; // a new model every round: a different hash, the same size
        BitConverter.TryWriteBytes(_model.Tensors[0].Data.AsSpan(0, 4), _nudge);
        return Task.CompletedTask;
    }

    public Evaluation? Evaluate() => null;
}
