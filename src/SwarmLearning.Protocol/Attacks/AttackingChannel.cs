using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Protocol.Attacks;

/// <summary>
/// A Byzantine ML program's side of the ML channel: it trains like any other, then hands its node a model changed by the
/// attack. The node under it is a real node (it registers, checks in and may lead), served by the same node session as an
/// honest one: only what the program offers differs. The initial sync is left honest, so every run starts from the
/// same kind of model; the attack begins with the first trained update.
/// </summary>
public sealed class AttackingChannel : IMlChannel
{
    private readonly IMlChannel _inner;
    private readonly AttackKind _kind;
    private readonly Random _random;
    private readonly LittleIsEnough? _coordinator;
    private ModelState? _reference; // the last merged model this program loaded
    private int _syncs;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="coordinator"/> is shared by every little-is-enough attacker of one swarm.</summary>
    public AttackingChannel(IMlChannel inner, AttackKind kind, int seed, LittleIsEnough? coordinator = null)
    {
        if (kind == AttackKind.LittleIsEnough && coordinator is null)
        {
            throw new ArgumentException("little-is-enough attackers share a coordinator", nameof(coordinator));
        }
        (_inner, _kind, _random, _coordinator) = (inner, kind, new Random(seed), coordinator);
    }

    /// <inheritdoc />
    public Task<SessionRegistration> RegisterAsync(SwarmParameters parameters, ModelState model, CancellationToken cancellationToken) =>
        _inner.RegisterAsync(parameters, model, cancellationToken);

    /// <inheritdoc />
    public async Task<(MergedModel Merged, ModelState Model)> SyncAsync(SyncKind kind, ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken)
    {
        var offered = model;
        if (kind != SyncKind.Initial && trainedSinceSync && _reference is not null)
        {
            offered = _kind switch
            {
                AttackKind.Gaussian => ModelArithmetic.Random(model, _random),
                AttackKind.SignFlip => ModelArithmetic.Extrapolate(_reference, model, -Attack.SignFlipScale),
                AttackKind.LittleIsEnough => await _coordinator!.ShiftAsync(_syncs, _reference, model, cancellationToken),
                _ => model,
            };
            _syncs++;
        }
        var result = await _inner.SyncAsync(kind, offered, epochsDone, trainedSinceSync, cancellationToken);
        _reference = result.Model.Clone();
        return result;
    }

    /// <inheritdoc />
    public Task<int> ReportAsync(int epochsDone, Evaluation? evaluation, CancellationToken cancellationToken) =>
        _inner.ReportAsync(epochsDone, evaluation, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}
