using System.Globalization;
using SwarmLearning.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// How a node trains: the optimizer, its learning rate and how the rate changes over the run, the batch size, and the
/// levers against client drift. One type for `swarm simulate`, the examples and `swarm up`; its defaults are the recipe
/// measured best for a swarm under label skew (docs/simulate.md): SGD with momentum 0.9, learning rate 0.05 decayed to
/// 0 by a cosine schedule, batches of 32. Each node's local steps drift toward its own classes by an amount
/// proportional to the learning rate, so decaying it lets the merged model settle; SGD averages as FedAvg assumes
/// (each node's Adam would normalise its own gradients).
/// </summary>
/// <param name="Optimizer">"sgd" (with <paramref name="Momentum"/>) or "adam".</param>
/// <param name="LearningRate">The initial learning rate.</param>
/// <param name="Schedule">"cosine" (decays to zero at <paramref name="TotalSteps"/>) or "constant".</param>
/// <param name="TotalSteps">Steps the run will take; needed by the cosine schedule (<see cref="ForRun"/>).</param>
/// <param name="Momentum">SGD's momentum.</param>
/// <param name="ResetOnLoad">Start the optimizer afresh whenever merged parameters are loaded.</param>
/// <param name="Proximal">FedProx's mu: each step is also pulled toward the last merged parameters by
/// mu * (w - w_merged), which bounds how far a node's local steps drift toward its own classes. 0 turns it off.</param>
/// <param name="ControlVariates">SCAFFOLD: correct each gradient by the swarm's average gradient minus this node's
/// (<see cref="TorchSharp.ControlVariates"/>); the parameter files then carry the variates too.</param>
/// <param name="LogitAdjust">Balanced softmax on the node: train on logits + log(the node's label frequencies), so
/// the network learns p(x|y)-shaped scores free of the node's own class imbalance, which is what the swarm's model
/// wants when the nodes' label mixes differ (label skew). Evaluation uses the plain logits.</param>
/// <param name="BatchSize">Images per batch.</param>
public sealed record TrainingRecipe(
    string Optimizer = "sgd", double LearningRate = 0.05, string Schedule = "cosine", long TotalSteps = 0, double Momentum = 0.9, bool ResetOnLoad = false,
    double Proximal = 0, bool ControlVariates = false, bool LogitAdjust = false, int BatchSize = 32)
{
    /// <summary>The accepted optimizer names.</summary>
    public const string OptimizerHelp = "sgd, adam";

    /// <summary>The accepted schedule names.</summary>
    public const string ScheduleHelp = "cosine, constant";

    /// <summary>The command-line options that set a recipe, for help texts (the same names in `swarm simulate` and the examples).</summary>
    public const string ArgumentsHelp = "--optimizer sgd|adam, --lr RATE, --lr-schedule cosine|constant, --momentum M, --batch-size N, --prox MU, --scaffold, --logit-adjust, --reset-optimizer";

    /// <summary>Throws a <see cref="SwarmException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Optimizer is not ("adam" or "sgd"))
        {
            throw new SwarmException($"unknown optimizer '{Optimizer}'; use one of: {OptimizerHelp}");
        }
        if (Schedule is not ("constant" or "cosine"))
        {
            throw new SwarmException($"unknown learning-rate schedule '{Schedule}'; use one of: {ScheduleHelp}");
        }
        if (!(LearningRate > 0 && double.IsFinite(LearningRate)) || !(Momentum >= 0 && Momentum < 1))
        {
            throw new SwarmException($"the learning rate must be positive and the momentum in [0, 1) (got {LearningRate} and {Momentum})");
        }
        if (!(Proximal >= 0 && double.IsFinite(Proximal)))
        {
            throw new SwarmException($"the proximal term's mu must be 0 (off) or positive (got {Proximal}); FedProx uses 0.001 to 0.1");
        }
        if (BatchSize < 1)
        {
            throw new SwarmException($"the batch size must be positive (got {BatchSize})");
        }
    }

    /// <summary>This recipe for a run of <paramref name="totalSteps"/> batches (the cosine schedule ends there).</summary>
    public TrainingRecipe ForRun(long totalSteps) => this with { TotalSteps = totalSteps };

    /// <summary>The same training without the swarm-only levers: what a node alone or the pooled model trains with.</summary>
    public TrainingRecipe Plain => this with { ResetOnLoad = false, Proximal = 0, ControlVariates = false, LogitAdjust = false };

    /// <summary>The learning rate for step <paramref name="step"/> (counted from 0).</summary>
    public double RateAt(long step) => Schedule == "cosine" && TotalSteps > 0
        ? LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step, TotalSteps) / TotalSteps))
        : LearningRate;

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    public optim.Optimizer Create(IEnumerable<global::TorchSharp.Modules.Parameter> parameters) => Optimizer == "sgd"
        ? optim.SGD(parameters, LearningRate, momentum: Momentum)
        : optim.Adam(parameters, LearningRate);

    /// <summary>The recipe as command-line options (<see cref="ArgumentsHelp"/>): how `swarm up` hands it to each node's program.</summary>
    public IReadOnlyList<string> ToArguments()
    {
        var arguments = new List<string>
        {
            "--optimizer", Optimizer, "--lr", Number(LearningRate), "--lr-schedule", Schedule, "--momentum", Number(Momentum),
            "--batch-size", BatchSize.ToString(CultureInfo.InvariantCulture),
        };
        if (Proximal > 0)
        {
            arguments.AddRange(["--prox", Number(Proximal)]);
        }
        arguments.AddRange(new (bool On, string Flag)[] { (ControlVariates, "--scaffold"), (LogitAdjust, "--logit-adjust"), (ResetOnLoad, "--reset-optimizer") }
            .Where(f => f.On).Select(f => f.Flag));
        return arguments;
    }

    /// <summary>
    /// Reads a recipe from options (<see cref="ArgumentsHelp"/>): <paramref name="take"/> returns an option's value (a flag's
    /// is "true") and removes it, or null when it is not given. Throws <see cref="SwarmException"/> naming a bad value.
    /// </summary>
    public static TrainingRecipe FromArguments(Func<string, string?> take)
    {
        var defaults = new TrainingRecipe();
        double Real(string name, double fallback) => take(name) is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw new SwarmException($"--{name} '{text}' is not a number")
            : fallback;
        int Whole(string name, int fallback) => take(name) is { } text
            ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : throw new SwarmException($"--{name} '{text}' is not a whole number")
            : fallback;
        bool Flag(string name) => take(name) is { } text && (bool.TryParse(text, out bool on) ? on : throw new SwarmException($"--{name} takes no value or true/false (got '{text}')"));
        var recipe = new TrainingRecipe(
            take("optimizer") ?? defaults.Optimizer, Real("lr", defaults.LearningRate), take("lr-schedule") ?? defaults.Schedule, 0, Real("momentum", defaults.Momentum),
            Flag("reset-optimizer"), Real("prox", 0), Flag("scaffold"), Flag("logit-adjust"), Whole("batch-size", defaults.BatchSize));
        recipe.Validate();
        return recipe;
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
