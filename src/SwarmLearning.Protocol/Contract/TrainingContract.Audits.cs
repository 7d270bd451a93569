using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace SwarmLearning.Protocol.Contract;

/// <summary>
/// Verified merges (docs/verification.md): every publication is audited by nodes drawn after it is committed; a verdict
/// that disagrees escalates to every other active node, whose majority decides; the side found wrong is marked Byzantine,
/// and a rejected merge is merged again by the next leader. The next round cannot close while an audit is open, so a
/// node that loaded a merged model at once loses at most one round of training if the merge is rejected.
/// </summary>
public static partial class TrainingContract
{
    /// <summary>After a publication: opens its audit, or accepts it at once when the contract turns verification off.</summary>
    private static ContractState OpenAudit(ContractState state, TxContext context)
    {
        var merged = state.LatestMerged!;
        return state.Parameters.Auditors == 0
            ? WithLatest(state, merged with { AuditedBy = [] })
            : state with { Audit = AuditState.Open(merged.Round, merged.Hash, merged.Leader, context.Height, context.BlockTime) };
    }

    /// <summary>Draws the auditors once a later block than the publication's is being applied, and enforces the audit's deadline.</summary>
    private static ContractState AdvanceAudit(ContractState state, TxContext context, List<ContractEvent> events)
    {
        if (state.Audit is not { } audit)
        {
            return state;
        }
        if (!audit.Drawn)
        {
            // In the publication's own block the beacon (the parent's hash) was known before the leader published.
            return context.Height > audit.PublishedHeight ? Draw(state, audit, context, events) : state;
        }
        if (audit.Deadline is { } deadline && context.BlockTime >= deadline)
        {
            return audit.Escalated
                ? DecideAtDeadline(state, audit, context, events)
                : Escalate(state, audit, context, events, $"not every auditor answered within {state.LeaderTimeout().TotalSeconds:0.#} s");
        }
        return state;
    }

    /// <summary>
    /// Who may audit a round: the active nodes other than its leader that took part in it. They checked in moments ago
    /// (a node that crashed for good is not drawn and does not stall the audit) and hold their own inputs.
    /// </summary>
    private static List<NodeRecord> Participants(ContractState state, AuditState audit)
    {
        var merged = state.MergedOf(audit.Round);
        var took = (merged?.Contributions ?? []).Select(c => c.NodeId).ToHashSet(StringComparer.Ordinal);
        return [.. state.ActiveNodes.Where(n => n.NodeId != audit.Leader && took.Contains(n.NodeId))];
    }

    private static ContractState Draw(ContractState state, AuditState audit, TxContext context, List<ContractEvent> events)
    {
        var others = Participants(state, audit);
        var eligible = others.Where(n => n.CanLead).Select(n => n.NodeId).ToList();
        if (eligible.Count == 0)
        {
            eligible = [.. others.Select(n => n.NodeId)]; // nodes that opted out of leading still audit when nobody else can
        }
        if (eligible.Count == 0)
        {
            Say(events, state, "audited", $"round {audit.Round}: no node other than its leader '{audit.Leader}' took part in it to audit its merge; it is accepted unaudited");
            return CompleteIfDone(WithLatest(state, state.LatestMerged! with { AuditedBy = [] }) with { Audit = null }, events);
        }
        // The hash of the block holding the publication: fixed once it is committed, unknown before, and not the choice of
        // whoever sends the transaction that draws (a leader could otherwise make blocks and tick when the draw suits it).
        string beacon = context.BlockHash?.Invoke(audit.PublishedHeight) ?? context.Beacon ?? "";
        string[] auditors = [.. eligible
            .OrderBy(id => AuditorKey(beacon, state.Name, audit.Round, id), StringComparer.Ordinal)
            .ThenBy(id => id, StringComparer.Ordinal)
            .Take(state.Parameters.Auditors)];
        Say(events, state, "audit", $"round {audit.Round}: the merge {Short(audit.Hash)} by '{audit.Leader}' is audited by {Names(auditors)} (drawn from the hash of block {audit.PublishedHeight}, which holds the publication)");
        var drawn = audit with { Auditors = [.. auditors], Drawn = true, Deadline = context.BlockTime + state.LeaderTimeout() };
        return Decide(state with { Audit = drawn }, context, events);
    }

    private static string AuditorKey(string beacon, string contract, long round, string nodeId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"audit\n{beacon}\n{contract}\n{round}\n{nodeId}")));

    /// <summary>Records a verdict: from an auditor or panel member, or a disagreement from any other active node.</summary>
    private static ContractState ApplyVerdict(ContractState state, AuditMerge verdict, NodeRecord node, TxContext context, List<ContractEvent> events)
    {
        if (state.Audit is not { } audit)
        {
            throw Reject("no-audit", $"no merge of contract '{state.Name}' is being audited now");
        }
        if (verdict.Round != audit.Round || verdict.MergedHash != audit.Hash)
        {
            throw Reject("not-audited", $"the merge under audit is {Short(audit.Hash)} of round {audit.Round}, not {Short(verdict.MergedHash)} of round {verdict.Round}");
        }
        if (node.NodeId == audit.Leader)
        {
            throw Reject("own-merge", $"node '{node.NodeId}' published the merge of round {audit.Round}; it cannot audit it");
        }
        if (audit.Verdicts.TryGetValue(node.NodeId, out var earlier))
        {
            return earlier.Finding == verdict.Finding && earlier.Recomputed == verdict.Recomputed
                ? state // a retried verdict changes nothing
                : throw Reject("already-judged", $"node '{node.NodeId}' already gave its verdict on round {audit.Round} ({Name(earlier.Finding)})");
        }
        if (!audit.Asks(node.NodeId) && verdict.Finding != AuditFinding.Wrong)
        {
            throw Reject("not-auditor", $"node '{node.NodeId}' is not asked to audit round {audit.Round}; a node not drawn may only report a merge it found wrong (a claim the panel checks, and marks if false)");
        }
        var merged = state.LatestMerged!;
        var unreachable = (merged.Unreachable ?? []).ToHashSet(StringComparer.Ordinal);
        ImmutableList<string>? fetched = verdict.Finding == AuditFinding.Overruled && verdict.Fetched is { Count: > 0 } keys
            // A node holding its own model says nothing about whether others can reach it.
            ? [.. keys.Where(k => unreachable.Contains(k) && merged.Contributions.Any(c => c.Key == k && c.NodeId != node.NodeId)).Distinct(StringComparer.Ordinal)]
            : null;
        var recorded = new Verdict(node.NodeId, verdict.Finding, verdict.Recomputed, verdict.Detail, context.BlockTime, fetched);
        string detail = verdict.Detail is { Length: > 0 } d ? $": {d}" : "";
        Say(events, state, "verdict", $"round {audit.Round}: '{node.NodeId}' finds the merge by '{audit.Leader}' {Name(verdict.Finding)} (recomputed {Short(verdict.Recomputed)}){detail}");
        return Decide(state with { Audit = audit with { Verdicts = audit.Verdicts.SetItem(node.NodeId, recorded) } }, context, events);
    }

    /// <summary>Closes the audit when its verdicts decide: all drawn auditors agree, or a panel majority says one thing.</summary>
    private static ContractState Decide(ContractState state, TxContext context, List<ContractEvent> events)
    {
        var audit = state.Audit!;
        if (!audit.Escalated)
        {
            if (audit.Verdicts.Values.FirstOrDefault(v => v.Finding != AuditFinding.Agree) is { } dissent)
            {
                return Escalate(state, audit, context, events, $"'{dissent.NodeId}' found it {Name(dissent.Finding)}");
            }
            return audit.Drawn && audit.Auditors.All(audit.Verdicts.ContainsKey)
                ? Verify(state, audit, context, events, [], $"{Names(audit.Auditors)} recomputed it")
                : state;
        }
        var votes = audit.Panel.Select(audit.Verdicts.GetValueOrDefault).OfType<Verdict>().ToList();
        int majority = audit.Panel.Count / 2 + 1;
        string[] agreeing = [.. votes.Where(v => v.Finding == AuditFinding.Agree).Select(v => v.NodeId)];
        string[] wrong = [.. votes.Where(v => v.Finding == AuditFinding.Wrong).Select(v => v.NodeId)];
        if (agreeing.Length >= majority)
        {
            return Verify(state, audit, context, events, wrong, $"{agreeing.Length} of the {audit.Panel.Count}-node panel recomputed it");
        }
        if (wrong.Length >= majority)
        {
            return RejectMerge(state, context, events, [audit.Leader, .. agreeing],
                $"{wrong.Length} of the {audit.Panel.Count}-node panel found it wrong");
        }
        if (votes.Count - agreeing.Length >= majority)
        {
            return RejectMerge(state, context, events, [], $"a majority of the {audit.Panel.Count}-node panel could not confirm it ({Tally(audit)}); nobody is marked");
        }
        return state;
    }

    /// <summary>
    /// The panel's time is up without a majority of the whole panel (some members are silent: crashed or cut off): the
    /// verdicts cast decide, by their own majority; nobody is marked, since marking takes a majority of the whole panel;
    /// a tie rejects. With no verdict at all, nobody else is there to judge (every other node crashed or cut off): the
    /// merge is accepted unaudited, as a round only its leader took part in is, rather than merged again for ever.
    /// </summary>
    private static ContractState DecideAtDeadline(ContractState state, AuditState audit, TxContext context, List<ContractEvent> events)
    {
        var cast = audit.Panel.Select(audit.Verdicts.GetValueOrDefault).OfType<Verdict>().ToList();
        int agreeing = cast.Count(v => v.Finding == AuditFinding.Agree);
        string silent = $"{audit.Panel.Count - cast.Count} of the {audit.Panel.Count}-node panel gave no verdict within {state.LeaderTimeout().TotalSeconds:0.#} s ({Tally(audit)})";
        if (cast.Count == 0)
        {
            Say(events, state, "audited", $"round {audit.Round}: no other node answered to audit the merge {Short(audit.Hash)} by '{audit.Leader}' within {state.LeaderTimeout().TotalSeconds:0.#} s; it is accepted unaudited");
            return CompleteIfDone(WithLatest(state, state.LatestMerged! with { AuditedBy = [] }) with { Audit = null }, events);
        }
        return agreeing * 2 > cast.Count
            ? Verify(state, audit, context, events, [], $"{silent}; {agreeing} of the {cast.Count} verdicts cast recomputed it")
            : RejectMerge(state, context, events, [], $"{silent}, and the verdicts cast do not confirm it; nobody is marked");
    }

    private static ContractState Escalate(ContractState state, AuditState audit, TxContext context, List<ContractEvent> events, string why)
    {
        // Every active node but the leader: participants that crashed since do not answer, but nodes that sat the round
        // out can recompute it too.
        var panel = state.ActiveNodes.Where(n => n.NodeId != audit.Leader).Select(n => n.NodeId).ToImmutableList();
        Say(events, state, "audit-escalated", $"round {audit.Round}: {why}; every other active node ({panel.Count}) recomputes the merge, and their majority decides");
        var escalated = audit with { Escalated = true, Panel = panel, Deadline = context.BlockTime + state.LeaderTimeout() };
        return Decide(state with { Audit = escalated }, context, events);
    }

    private static ContractState Verify(ContractState state, AuditState audit, TxContext context, List<ContractEvent> events, IReadOnlyList<string> liars, string how)
    {
        string[] agreeing = [.. audit.Verdicts.Values.Where(v => v.Finding == AuditFinding.Agree).Select(v => v.NodeId)];
        Say(events, state, "verified", $"round {audit.Round}: the merge {Short(audit.Hash)} by '{audit.Leader}' is verified: {how}");
        state = Mark(state, liars, audit.Round, $"claimed the merge of round {audit.Round} was wrong; the panel recomputed it and found it right", context.BlockTime, events);
        state = WithLatest(state, state.LatestMerged! with { AuditedBy = [.. agreeing] }) with { Audit = null };
        return CompleteIfDone(state, events);
    }

    /// <summary>Drops the latest merge and has the next leader merge its round again, without the contributions of nodes now marked.</summary>
    private static ContractState RejectMerge(ContractState state, TxContext context, List<ContractEvent> events, IReadOnlyList<string> liars, string why)
    {
        var merged = state.LatestMerged!;
        var audit = state.Audit!;
        string marking = liars.Count > 0 ? $"; {Names(liars)} marked Byzantine" : "";
        state = Mark(state, liars, merged.Round, liars.Contains(merged.Leader)
            ? $"published a wrong merge of round {merged.Round} ({why})"
            : $"vouched for the wrong merge of round {merged.Round} ({why})", context.BlockTime, events);
        var contributions = merged.Contributions.Where(c => state.Nodes.GetValueOrDefault(c.NodeId)?.IsActive == true).ToList();
        var onTime = contributions.Where(c => c.Staleness == 0).ToList();
        // Late models built on the rejected model go with it; the next round's check-ins (built on it too) are void.
        var late = state.LatePool.RemoveRange(state.LatePool.Values.Where(l => l.TargetRound > merged.Round).Select(l => l.NodeId).ToList());
        state = state with { History = state.History.RemoveAt(state.History.Count - 1), LatePool = late, Audit = null };
        if (contributions.Aggregate(Int128.Zero, (sum, c) => sum + c.WeightMicros) <= 0)
        {
            var kept = state.LatestMerged!.Hash;
            Say(events, state, "rejected", $"round {merged.Round}: the merge {Short(audit.Hash)} by '{merged.Leader}' is rejected: {why}{marking}; no honest contribution is left, so the model stays {Short(kept)}");
            var unchanged = new MergedRound(merged.Round, kept, "", [], [], context.BlockTime, AuditedBy: []);
            return AfterMerge(state with { History = state.History.Add(unchanged) }, events);
        }
        var candidates = onTime.Where(c => state.Nodes[c.NodeId].IsActive && state.Nodes[c.NodeId].CanLead).Select(c => c.NodeId).ToList();
        if (candidates.Count == 0)
        {
            candidates = [.. state.ActiveNodes.Where(n => n.CanLead).Select(n => n.NodeId)];
        }
        if (candidates.Count == 0 && !state.ActiveNodes.Any())
        {
            var kept = state.LatestMerged!.Hash;
            Say(events, state, "rejected", $"round {merged.Round}: the merge {Short(audit.Hash)} by '{merged.Leader}' is rejected: {why}{marking}; no active node is left to merge it again, so the model stays {Short(kept)}");
            return AfterMerge(state with { History = state.History.Add(new MergedRound(merged.Round, kept, "", [], [], context.BlockTime, AuditedBy: [])) }, events);
        }
        if (candidates.Count == 0)
        {
            candidates = [.. state.ActiveNodes.Select(n => n.NodeId)]; // nodes that opted out of leading, rather than no leader at all
        }
        // The next leader is the one after the rejected leader in the round's order (which it may no longer be part of);
        // the order starts there, so neither the rejected leader nor those before it may publish until it comes round again.
        var sorted = LeaderOrder(state.Name, merged.Round, candidates);
        string rejectedKey = LeaderKey(state.Name, merged.Round, merged.Leader);
        int next = sorted.Count(id => string.CompareOrdinal(LeaderKey(state.Name, merged.Round, id), rejectedKey) <= 0) % Math.Max(1, sorted.Count);
        var order = sorted.Skip(next).Concat(sorted.Take(next)).ToList();
        // Contributions auditors fetched although the leader claimed them unreachable: the next leader gets them from those
        // auditors too, and waits for them.
        var holders = audit.Verdicts.Values.Where(v => v.Fetched is not null && state.Nodes[v.NodeId].IsActive)
            .SelectMany(v => v.Fetched!.Select(key => (Key: key, v.NodeId)))
            .GroupBy(h => h.Key, StringComparer.Ordinal)
            .ToImmutableSortedDictionary(g => g.Key, g => g.Select(h => h.NodeId).Order(StringComparer.Ordinal).ToImmutableList(), StringComparer.Ordinal);
        var reopened = new RoundState(merged.Round, RoundPhase.Merging,
            [.. onTime.Select(c => new CheckInRecord(c.NodeId, c.ModelHash, c.WeightMicros, true, merged.At))], merged.At,
            [.. contributions], [.. order], 0, context.BlockTime, holders.Count > 0 ? holders : null);
        Say(events, state, "rejected", $"round {merged.Round}: the merge {Short(audit.Hash)} by '{merged.Leader}' is rejected: {why}{marking}; '{reopened.CurrentLeader}' merges the round again");
        return state with { Round = reopened };
    }

    /// <summary>Marks nodes Byzantine in this contract: they no longer lead, audit or count, and their pending offers go.</summary>
    private static ContractState Mark(ContractState state, IEnumerable<string> nodeIds, long round, string reason, DateTimeOffset now, List<ContractEvent> events)
    {
        foreach (string id in nodeIds.Distinct())
        {
            if (!state.Nodes.TryGetValue(id, out var node) || node.Byzantine is not null)
            {
                continue;
            }
            Say(events, state, "byzantine", $"node '{id}' is marked Byzantine in contract '{state.Name}': it {reason}; it no longer leads, audits or counts, and its transactions are refused");
            state = state with
            {
                Nodes = state.Nodes.SetItem(id, node with { Byzantine = new ByzantineMark(round, reason, now) }),
                Round = state.Round.Phase == RoundPhase.Collecting ? state.Round with { CheckIns = state.Round.CheckIns.RemoveAll(c => c.NodeId == id) } : state.Round,
                LatePool = state.LatePool.Remove(id),
            };
        }
        return state;
    }

    /// <summary>Completes the training when every active node has finished and no audit is open.</summary>
    private static ContractState CompleteIfDone(ContractState state, List<ContractEvent> events)
    {
        if (state.Audit is not null || state.LatestMerged is not { } latest || !state.ActiveNodes.Any() || !state.ActiveNodes.All(n => n.Status == NodeStatus.Finished))
        {
            return state;
        }
        Say(events, state, "completed", $"training complete after round {latest.Round}: every active node has finished; final model {Short(latest.Hash)}");
        return state with { Status = ContractStatus.Completed, FinalModel = latest.Hash, Round = RoundState.Open(latest.Round + 1) };
    }

    private static ContractState WithLatest(ContractState state, MergedRound merged) =>
        state with { History = state.History.SetItem(state.History.Count - 1, merged) };

    private static string Tally(AuditState audit) =>
        string.Join(", ", audit.Deciders.Select(id => $"{id}: {(audit.Verdicts.TryGetValue(id, out var v) ? Name(v.Finding) : "no verdict")}"));

    private static string Names(IEnumerable<string> ids) => string.Join(", ", ids.Select(id => $"'{id}'"));

    /// <summary>A finding as written in events and on the wire.</summary>
    public static string Name(AuditFinding finding) => finding.ToString().ToLowerInvariant();
}
