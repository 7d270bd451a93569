using SwarmLearning.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace SwarmLearning.TorchSharp;

/// <summary>
/// How a node steps its network: the optimizer, its learning rate and how the rate changes over the run.
/// A cosine schedule matters in a swarm under non-IID data: each node's local steps drift toward its own classes by
/// an amount proportional to the learning rate, so decaying it lets the merged model settle (docs/simulate.md).
/// </summary>
/// <param name="Optimizer">"adam" or "sgd" (SGD with <paramref name="Momentum"/>).</param>
/// <param name="LearningRate">The initial learning rate.</param>
/// <param name="Schedule">"constant" or "cosine" (decays to zero at <paramref name="TotalSteps"/>).</param>
/// <param name="TotalSteps">Steps the run will take; needed by the cosine schedule.</param>
/// <param name="Momentum">SGD's momentum.</param>
/// <param name="ResetOnLoad">Start the optimizer afresh whenever merged parameters are loaded.</param>
/// <param name="Proximal">FedProx's mu: each step is also pulled toward the last merged parameters by
/// mu * (w - w_merged), which bounds how far a node's local steps drift toward its own classes. 0 turns it off.</param>
/// <param name="ControlVariates">SCAFFOLD: correct each gradient by the swarm's average gradient minus this node's
/// (<see cref="TorchSharp.ControlVariates"/>); the parameter files then carry the variates too.</param>
/// <param name="LogitAdjust">Balanced softmax on the node: train on logits + log(the node's label frequencies), so
/// the network learns p(x|y)-shaped scores free of the node's own class imbalance, which is what the swarm's model
/// wants when the nodes' label mixes differ (label skew). Evaluation uses the plain logits.</param>
public sealed record TrainingRecipe(
    string Optimizer = "adam", double LearningRate = 1e-3, string Schedule = "constant", long TotalSteps = 0, double Momentum = 0.9, bool ResetOnLoad = false,
    double Proximal = 0, bool ControlVariates = false, bool LogitAdjust = false)
{
    /// <summary>The accepted optimizer names.</summary>
    public const string OptimizerHelp = "adam, sgd";

    /// <summary>The accepted schedule names.</summary>
    public const string ScheduleHelp = "constant, cosine";

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
        if (!(LearningRate > 0) || Momentum is < 0 or >= 1)
        {
            throw new SwarmException($"the learning rate must be positive and the momentum in [0, 1) (got {LearningRate} and {Momentum})");
        }
        if (!(Proximal >= 0))
        {
            throw new SwarmException($"the proximal term's mu must be 0 (off) or positive (got {Proximal}); FedProx uses 0.001 to 0.1");
        }
    }

    /// <summary>The learning rate for step <paramref name="step"/> (counted from 0).</summary>
    public double RateAt(long step) => Schedule == "cosine" && TotalSteps > 0
        ? LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step, TotalSteps) / TotalSteps))
        : LearningRate;

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    public optim.Optimizer Create(IEnumerable<global::TorchSharp.Modules.Parameter> parameters) => Optimizer == "sgd"
        ? optim.SGD(parameters, LearningRate, momentum: Momentum)
        : optim.Adam(parameters, LearningRate);
}
