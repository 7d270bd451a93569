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

    /// <summary>Accounts releases made before (by an earlier session of this node) so that at least <paramref name="releases"/> are counted.</summary>
    public void AtLeast(long releases)
    {
        if (releases > Releases)
        {
            _accountant.Step(q: 1, releases - Releases);
        }
    }

    /// <summary>
    /// The releases of <paramref name="nodeId"/> visible on the ledger: its models in merged rounds after the first, its
    /// check-in to the current round and its late models waiting. A lower bound (a release never merged nor pending is not
    /// there), so a restarted node counts at least what it is known to have spent.
    /// </summary>
    public static long OnLedger(Contract.ContractState state, string nodeId)
    {
        var models = new HashSet<Core.Files.ContentHash>();
        foreach (var round in state.History.Skip(1))
        {
            models.UnionWith(round.Contributions.Where(c => c.NodeId == nodeId).Select(c => c.ModelHash));
        }
        if (state.Round.Number > 0)
        {
            models.UnionWith(state.Round.CheckIns.Where(c => c.NodeId == nodeId).Select(c => c.ModelHash));
        }
        models.UnionWith(state.LatePool.Values.Where(l => l.NodeId == nodeId).Select(l => l.ModelHash));
        models.ExceptWith(state.History.Select(m => m.Hash)); // a merged model checked in again (train-end 'active') is no release
        return models.Count;
    }

    /// <summary>Clips and noises the update of <paramref name="model"/> from <paramref name="reference"/>, and accounts the release.</summary>
    public (ModelState Model, double UpdateNorm) Release(ModelState reference, ModelState model)
    {
        var released = _privatizer.Privatize(reference, model);
        _accountant.Step(q: 1);
        return released;
    }
}
