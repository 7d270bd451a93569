using SwarmLearning.Core.Model;
using SwarmLearning.Core.Privacy;

namespace SwarmLearning.Protocol.Session;

/// <summary>
/// A node's differentially private check-ins and what they have cost. The unit of privacy is the node's whole data set:
/// every release is a function of all of it, so each counts as a Gaussian mechanism with sampling rate 1 (no
/// amplification by sampling is claimed), composed over the releases (docs/privacy.md).
/// </summary>
public sealed class PrivateReleases(DifferentialPrivacy settings)
{
    private readonly UpdatePrivatizer _privatizer = new(settings);
    private readonly RdpAccountant _accountant = new(settings.NoiseMultiplier);

    /// <summary>The contract's settings.</summary>
    public DifferentialPrivacy Settings => settings;

    /// <summary>Models released so far.</summary>
    public long Releases => _accountant.Steps;

    /// <summary>ε spent so far at the contract's δ.</summary>
    public double Epsilon => _accountant.Epsilon(settings.Delta);

    /// <summary>Clips and noises the update of <paramref name="model"/> from <paramref name="reference"/>, and accounts the release.</summary>
    public (ModelState Model, double UpdateNorm) Release(ModelState reference, ModelState model)
    {
        var released = _privatizer.Privatize(reference, model);
        _accountant.Step(q: 1);
        return released;
    }
}
