using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Ledger.Chain;

/// <summary>
/// Who may send what (docs/ledger.md, docs/security.md): SNs register ledger keys; a key changes only by a rotation
/// signed with the old key or by an operator with a reason, and an SN's key never; an SL node acts only for itself (its
/// contract node id is NAME of exactly spiffe://TD/sl/NAME); operators (command interfaces and SNs) create, reset and remove.
/// </summary>
public static class Authorization
{
    /// <summary>Whether <paramref name="sender"/> acts as an operator on contracts.</summary>
    public static bool IsOperator(SpiffeId sender) => sender.IsUnder(SwarmIdentities.CommandInterface) || sender.IsUnder(SwarmIdentities.SwarmNetwork);

    /// <summary>The sender as the training contract knows it: an SL node by its node id, anyone else by SPIFFE ID.</summary>
    public static string ContractSender(SpiffeId sender) => SwarmIdentities.SlNodeName(sender) ?? sender.ToString();

    /// <summary>Null when <paramref name="sender"/> may send <paramref name="action"/>, otherwise why not.</summary>
    public static string? Check(SpiffeId sender, LedgerAction action, bool genesis) => action switch
    {
        RegisterKey register when genesis && register.Identity == sender.ToString() => null,
        RegisterKey when !sender.IsUnder(SwarmIdentities.SwarmNetwork) => $"{sender} may not register ledger keys; only SN nodes do, after checking the identity's SVID",
        RegisterKey register when !SpiffeId.TryParse(register.Identity, out var identity, out _) || identity.TrustDomain != sender.TrustDomain =>
            $"'{register.Identity}' is not an identity of trust domain {sender.TrustDomain}",
        RegisterKey => null,
        RotateKey rotate when !SpiffeId.TryParse(rotate.Identity, out var identity, out _) || identity.TrustDomain != sender.TrustDomain =>
            $"'{rotate.Identity}' is not an identity of trust domain {sender.TrustDomain}",
        RotateKey rotate when SpiffeId.Parse(rotate.Identity).IsUnder(SwarmIdentities.SwarmNetwork) =>
            $"an SN's ledger key never changes ({rotate.Identity}); an SN with a new key joins under a new name",
        RotateKey rotate when rotate.Identity == sender.ToString() => null,
        RotateKey when !sender.IsUnder(SwarmIdentities.CommandInterface) =>
            $"{sender} may not rotate another identity's ledger key; only the key's owner (signing with the old key) or an operator (spiffe://{sender.TrustDomain}/swci/*) may",
        RotateKey rotate when string.IsNullOrWhiteSpace(rotate.Reason) => "an operator rotating another identity's ledger key must give a reason; it is recorded on the chain",
        RotateKey => null,
        AnnounceSn announce when genesis && announce.Identity == sender.ToString() => null,
        AnnounceSn when !sender.IsUnder(SwarmIdentities.SwarmNetwork) => $"{sender} may not announce SNs; only SN nodes do",
        AnnounceSn => null,
        ContractAction { Tx: CreateContract or RemoveNode or ResetContract } contract when !IsOperator(sender) =>
            $"{sender} may not {contract.Tx.GetType().Name} on '{contract.Tx.Contract}': only operators (spiffe://{sender.TrustDomain}/swci/*) and SN nodes may",
        ContractAction { Tx: Tick } => null,
        ContractAction { Tx: CreateContract or RemoveNode or ResetContract } => null,
        ContractAction contract when NodeOf(contract.Tx) is { } node && SwarmIdentities.SlNodeName(sender) != node =>
            $"{sender} may not act for SL node '{node}' (only spiffe://{sender.TrustDomain}/sl/{node} may)",
        _ => null,
    };

    private static string? NodeOf(ContractTx tx) => tx switch
    {
        RegisterNode t => t.NodeId,
        CheckIn t => t.NodeId,
        PublishMerge t => t.NodeId,
        ReportLostMerge t => t.NodeId,
        AuditMerge t => t.NodeId,
        ReportProgress t => t.NodeId,
        FinishTraining t => t.NodeId,
        LeaveContract t => t.NodeId,
        _ => null,
    };
}
