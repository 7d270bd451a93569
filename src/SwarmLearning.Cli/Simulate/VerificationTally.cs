using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Cli.Simulate;

/// <summary>What verification did in a run: publications, and those rejected, by leader; who was found Byzantine, and why.</summary>
internal sealed record VerificationRun(int Publications, int AttackerPublications, int AttackerPublicationsRejected, int AttackerMergesKept,
    int Rejected, int Escalations, IReadOnlyDictionary<string, string> Marked, IReadOnlyList<string> HonestMarked);

/// <summary>Counts, from the ledger's transactions and events as they are applied, what verification did.</summary>
internal sealed class VerificationTally
{
    private readonly Lock _gate = new();
    private readonly List<(string Leader, long Round)> _published = [];
    private readonly List<(string Leader, long Round)> _rejected = [];
    private int _escalations;

    public void Applied(ContractTx tx, TxOutcome outcome)
    {
        lock (_gate)
        {
            if (tx is PublishMerge publish)
            {
                _published.Add((publish.NodeId, publish.Round));
            }
            foreach (var e in outcome.Events)
            {
                if (e.Kind == "rejected" && e.Text.IndexOf("by '", StringComparison.Ordinal) is int at and >= 0)
                {
                    string leader = e.Text[(at + 4)..e.Text.IndexOf('\'', at + 4)];
                    _rejected.Add((leader, long.Parse(e.Text["round ".Length..e.Text.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)));
                }
                _escalations += e.Kind == "audit-escalated" ? 1 : 0;
            }
        }
    }

    /// <summary>The run's numbers: every publication by an attacker should be rejected in its round and none of its merges kept.</summary>
    public VerificationRun Summary(ContractState state, IReadOnlyList<string> attackers)
    {
        lock (_gate)
        {
            var marked = state.Nodes.Values.Where(n => n.Byzantine is not null)
                .ToDictionary(n => n.NodeId, n => $"round {n.Byzantine!.Round}: it {n.Byzantine.Reason}", StringComparer.Ordinal);
            return new VerificationRun(_published.Count, _published.Count(p => attackers.Contains(p.Leader)),
                _rejected.Count(r => attackers.Contains(r.Leader)), state.History.Count(m => attackers.Contains(m.Leader)),
                _rejected.Count, _escalations, marked, [.. marked.Keys.Where(id => !attackers.Contains(id))]);
        }
    }
}
