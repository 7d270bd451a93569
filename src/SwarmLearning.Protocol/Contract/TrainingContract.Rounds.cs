using System.Collections.Immutable;
using SwarmLearning.Core.Files;

namespace SwarmLearning.Protocol.Contract;

public static partial class TrainingContract
{
    private static ContractState ApplyCheckIn(ContractState state, CheckIn checkIn, NodeRecord node, TxContext context, List<ContractEvent> events)
    {
        if (state.Status == ContractStatus.Completed)
        {
            throw Reject("completed", $"contract '{state.Name}' has completed; its final model is {state.FinalModel}");
        }
        if (checkIn.Weight < 0 || checkIn.Weight > int.MaxValue)
        {
            throw Reject("bad-weight", $"node '{node.NodeId}' checked in with weight {checkIn.Weight}; weights are 0 to {int.MaxValue}");
        }
        var round = state.Round;
        if (checkIn.Round < 0)
        {
            throw Reject("bad-round", $"node '{node.NodeId}' checked in for round {checkIn.Round}; rounds start at 0");
        }
        if (checkIn.Round > round.Number)
        {
            throw Reject("future-round", $"node '{node.NodeId}' checked in for round {checkIn.Round} but the contract is at round {round.Number}");
        }
        var expectedBase = checkIn.Round == 0 ? ContentHash.None : state.MergedOf(checkIn.Round - 1)!.Hash;
        if (checkIn.BaseHash != expectedBase)
        {
            throw Reject("stale-base", $"node '{node.NodeId}' trained from model {Short(checkIn.BaseHash)} but round {checkIn.Round} builds on {Short(expectedBase)}, the merged model before it; load the latest merged model first");
        }
        bool onTime = checkIn.Round == round.Number && round.Phase == RoundPhase.Collecting;
        return onTime
            ? CheckInOnTime(state, checkIn, node, context, events)
            : CheckInLate(state, checkIn, node, context, events);
    }

    private static ContractState CheckInOnTime(ContractState state, CheckIn checkIn, NodeRecord node, TxContext context, List<ContractEvent> events)
    {
        var existing = state.Round.CheckIns.Find(c => c.NodeId == node.NodeId);
        if (existing is not null)
        {
            return existing.ModelHash == checkIn.ModelHash
                ? state // a retried check-in changes nothing
                : throw Reject("already-checked-in", $"node '{node.NodeId}' already checked in model {Short(existing.ModelHash)} for round {checkIn.Round}");
        }
        var record = new CheckInRecord(node.NodeId, checkIn.ModelHash, checkIn.Weight * WeightScale, node.Status == NodeStatus.Training, context.BlockTime);
        var checkIns = state.Round.CheckIns.Add(record).Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        Say(events, state, "checked-in", $"node '{node.NodeId}' checked in for round {checkIn.Round} ({checkIns.Count} of minPeers {state.Quorum()})");
        return state with { Round = state.Round with { CheckIns = checkIns } };
    }

    private static ContractState CheckInLate(ContractState state, CheckIn checkIn, NodeRecord node, TxContext context, List<ContractEvent> events)
    {
        if (checkIn.Round == 0)
        {
            throw Reject("late-initial", $"the initial sync (round 0) of contract '{state.Name}' is over; node '{node.NodeId}' must load the latest merged model instead");
        }
        long includedIn = state.Round.Phase == RoundPhase.Collecting ? state.Round.Number : state.Round.Number + 1;
        long staleness = includedIn - checkIn.Round;
        if (staleness > state.Timings.MaxStaleness)
        {
            throw Reject("too-stale", $"node '{node.NodeId}' offered a model for round {checkIn.Round}, {staleness} rounds behind (the bound is {state.Timings.MaxStaleness}); load the latest merged model and contribute to the next round");
        }
        if (checkIn.Weight == 0)
        {
            return state;
        }
        var late = new LateRecord(node.NodeId, checkIn.Round, checkIn.ModelHash, checkIn.Weight, context.BlockTime);
        Say(events, state, "late", $"node '{node.NodeId}' is late for round {checkIn.Round}: its model will be merged into round {includedIn} with weight 1/{staleness + 1}");
        return state with { LatePool = state.LatePool.SetItem(node.NodeId, late) };
    }

    private static ContractState Publish(ContractState state, PublishMerge publish, NodeRecord node, TxContext context, List<ContractEvent> events)
    {
        var done = state.MergedOf(publish.Round);
        if (done is not null)
        {
            return done.Hash == publish.MergedHash
                ? state
                : throw Reject("already-merged", $"round {publish.Round} was already merged into {Short(done.Hash)} by '{done.Leader}'");
        }
        var round = state.Round;
        if (round.Phase != RoundPhase.Merging || round.Number != publish.Round)
        {
            throw Reject("not-merging", $"round {publish.Round} is not being merged (the contract is at round {round.Number}, {round.Phase})");
        }
        if (!round.LeadersSoFar.Contains(node.NodeId))
        {
            throw Reject("not-leader", $"node '{node.NodeId}' is not a leader of round {round.Number}; '{round.CurrentLeader}' leads it");
        }
        var keys = round.Contributions.Select(c => c.Key).ToHashSet(StringComparer.Ordinal);
        var excludedSet = publish.Excluded.ToHashSet(StringComparer.Ordinal);
        var unreachable = publish.Unreachable ?? [];
        if (excludedSet.Count != publish.Excluded.Count || unreachable.Distinct(StringComparer.Ordinal).Count() != unreachable.Count)
        {
            throw Reject("bad-exclusion", "a contribution is left out twice");
        }
        if (publish.Excluded.FirstOrDefault(k => !keys.Contains(k)) is { } unknown)
        {
            throw Reject("bad-exclusion", $"'{unknown}' is not a contribution of round {round.Number}");
        }
        if (unreachable.FirstOrDefault(k => !excludedSet.Contains(k)) is { } notExcluded)
        {
            throw Reject("bad-exclusion", $"'{notExcluded}' is claimed unreachable but not left out");
        }
        if (round.Number == 0)
        {
            throw Reject("round0-adopt", "round 0 starts from the model the contract chooses when it closes (the initial model most nodes hold); nothing is published for it");
        }
        var published = new MergedRound(round.Number, publish.MergedHash, node.NodeId, round.Contributions, [.. publish.Excluded], context.BlockTime,
            unreachable.Count > 0 ? [.. unreachable] : null, round.LeaderSince);
        if (round.Contributions.Where(c => !excludedSet.Contains(c.Key)).Aggregate(Int128.Zero, (sum, c) => sum + c.WeightMicros) <= 0)
        {
            // Nothing usable (every model diverged): the only thing a leader may publish is the last merged model again.
            if (state.LatestMerged is not { } last || last.Hash != publish.MergedHash)
            {
                throw Reject("excluded-all", $"the leader of round {round.Number} excluded every contribution; it may only carry the last merged model over");
            }
            Say(events, state, "merged", $"round {round.Number}: no model could be merged ({string.Join(", ", publish.Excluded)} left out); '{node.NodeId}' carried the model of round {last.Round} over: {Short(publish.MergedHash)}");
            return AfterMerge(OpenAudit(state with { History = state.History.Add(published) }, context), events);
        }
        string excluded = publish.Excluded.Count > 0
            ? $" without {string.Join(", ", publish.Excluded.Select(k => unreachable.Contains(k) ? $"{k} (unreachable)" : $"{k} (invalid)"))}"
            : "";
        Say(events, state, "merged", $"round {round.Number} merged by '{node.NodeId}' from {round.Contributions.Count - publish.Excluded.Count} models{excluded}: {Short(publish.MergedHash)}");
        return AfterMerge(OpenAudit(state with { History = state.History.Add(published) }, context), events);
    }

    /// <summary>
    /// The merged model of the latest round is lost if its leader went away before anyone loaded it: nobody can serve it,
    /// and every node would wait for it forever. On a participant's report, a leader timeout after the merge, and if no
    /// other node shows it holds the model (a check-in, late model or progress report built on it), the round goes back
    /// to merging with the same contributions, led by the next node in its leader order.
    /// </summary>
    private static ContractState ReopenLostMerge(ContractState state, ReportLostMerge lost, NodeRecord node, TxContext context, List<ContractEvent> events)
    {
        var merged = state.LatestMerged;
        if (state.Status == ContractStatus.Completed || merged is null || merged.Round != lost.Round || merged.Hash != lost.MergedHash)
        {
            throw Reject("not-latest", $"model {Short(lost.MergedHash)} of round {lost.Round} is not the latest merged model of an active contract; nothing to reopen");
        }
        if (state.Audit is { } open && open.Round == lost.Round && open.Hash == lost.MergedHash)
        {
            throw Reject("being-audited", $"the merge {Short(lost.MergedHash)} of round {lost.Round} is being audited: its auditors hold it if it is right, and the audit drops it otherwise");
        }
        if (merged.Leader == node.NodeId || merged.Leader.Length == 0)
        {
            throw Reject("own-merge", $"node '{node.NodeId}' cannot report round {lost.Round} lost: it {(merged.Leader.Length == 0 ? "merged nothing" : "merged it itself")}");
        }
        if (context.BlockTime < merged.At + state.Timings.LeaderTimeout)
        {
            throw Reject("too-early", $"round {lost.Round} was merged at {merged.At:HH:mm:ss}; it can be reported lost only after the leader timeout ({state.Timings.LeaderTimeout.TotalSeconds:0.###} s)");
        }
        string? holder = state.Round.CheckIns.Select(c => c.NodeId)
            .Concat(state.Audit?.Verdicts.Values.Where(v => v.Recomputed == merged.Hash).Select(v => v.NodeId) ?? [])
            .Concat(state.LatePool.Values.Where(l => l.TargetRound > lost.Round).Select(l => l.NodeId))
            .Concat(state.Nodes.Values.Where(n => n.Progress?.Round >= lost.Round).Select(n => n.NodeId))
            .FirstOrDefault(id => id != merged.Leader);
        if (holder is not null)
        {
            throw Reject("held", $"node '{holder}' has loaded the merged model of round {lost.Round}; fetch it from '{holder}'");
        }
        if (lost.Round == 0)
        {
            // Round 0 is the contract's choice, not a merge: choose again among the other nodes' initial models.
            var others = merged.Contributions.Where(c => c.NodeId != merged.Leader && state.Nodes[c.NodeId].IsActive).ToList();
            if (others.Count == 0)
            {
                throw Reject("not-latest", $"no other initial model of round 0 to start from instead of {Short(merged.Hash)}");
            }
            var order0 = LeaderOrder(state.Name, 0, others.Select(c => c.NodeId));
            var chosen = others.GroupBy(c => c.ModelHash).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Hex, StringComparer.Ordinal).First();
            var start = chosen.Count() * 2 > merged.Contributions.Count ? chosen.Key : others.First(c => c.NodeId == order0[0]).ModelHash;
            string server = order0.First(id => others.Any(c => c.NodeId == id && c.ModelHash == start));
            Say(events, state, "merge-lost", $"the initial model {Short(merged.Hash)} of '{merged.Leader}' could not be fetched from anyone (reported by '{node.NodeId}'); every node starts from '{server}''s {Short(start)} instead");
            var again = new MergedRound(0, start, server, merged.Contributions, [], context.BlockTime, AuditedBy: []);
            return state with { History = state.History.SetItem(0, again), Round = RoundState.Open(1), LatePool = state.LatePool.Clear() };
        }
        var onTime = merged.Contributions.Where(c => c.Staleness == 0).ToList();
        var order = LeaderOrder(state.Name, lost.Round, onTime.Where(c => state.Nodes[c.NodeId].CanLead && state.Nodes[c.NodeId].IsActive).Select(c => c.NodeId));
        int next = order.ToList().IndexOf(merged.Leader) + 1;
        var reopened = new RoundState(lost.Round, RoundPhase.Merging,
            [.. onTime.Select(c => new CheckInRecord(c.NodeId, c.ModelHash, c.WeightMicros, true, merged.At))], merged.At,
            merged.Contributions, [.. order], next, context.BlockTime);
        Say(events, state, "merge-lost", $"the merged model {Short(merged.Hash)} of round {lost.Round} was lost with its leader '{merged.Leader}' (reported by '{node.NodeId}'); '{reopened.CurrentLeader}' merges the round again");
        return state with { History = state.History.RemoveAt(state.History.Count - 1), Round = reopened, Audit = null };
    }

    /// <summary>Opens the next round, or completes the training when every node has finished (once the merge is audited).</summary>
    private static ContractState AfterMerge(ContractState state, List<ContractEvent> events) =>
        CompleteIfDone(state with { Round = RoundState.Open(state.LatestMerged!.Round + 1) }, events);

    /// <summary>Applies what block time and the current check-ins imply: readiness, closing, leader failover, completion.</summary>
    private static ContractState Advance(ContractState state, TxContext context, List<ContractEvent> events)
    {
        var now = context.BlockTime;
        for (int step = 0; step < 8 && state.Status == ContractStatus.Active; step++)
        {
            var next = AdvanceAudit(state, context, events);
            next = ReferenceEquals(next, state)
                ? state.Round.Phase == RoundPhase.Collecting ? AdvanceCollecting(state, now, events) : AdvanceMerging(state, now, events)
                : next;
            if (ReferenceEquals(next, state))
            {
                break;
            }
            state = next;
        }
        return state;
    }

    private static ContractState AdvanceCollecting(ContractState state, DateTimeOffset now, List<ContractEvent> events)
    {
        var round = state.Round;
        bool training = round.CheckIns.Any(c => c.FromTrainingNode);
        if (state.Audit is not null)
        {
            // The round before is being audited: this one may not close (a rejection would void its check-ins).
            return round.ReadyAt is null ? state : state with { Round = round with { ReadyAt = null } };
        }
        if (!training && state.LatestMerged is { } latest)
        {
            if (state.ActiveNodes.Any() && state.ActiveNodes.All(n => n.Status == NodeStatus.Finished))
            {
                Say(events, state, "completed", $"training complete after round {latest.Round}: every active node has finished; final model {Short(latest.Hash)}");
                return state with { Status = ContractStatus.Completed, FinalModel = latest.Hash };
            }
            if (now >= state.OnlyFinishedWaitingSince + state.Timings.Stragglers)
            {
                var missing = string.Join(", ", state.ActiveNodes.Where(n => n.Status == NodeStatus.Training).Select(n => $"'{n.NodeId}'"));
                Say(events, state, "completed", $"training complete after round {latest.Round} without {missing}: still registered as training but silent for {state.Timings.Stragglers.TotalSeconds:0.###} s while every other node had finished (they load the final model {Short(latest.Hash)} when they return)");
                return state with { Status = ContractStatus.Completed, FinalModel = latest.Hash };
            }
        }
        bool ready = round.CheckIns.Count >= state.Quorum() && training && LeaderCandidates(state).Any();
        if (!ready)
        {
            return round.ReadyAt is null ? state : state with { Round = round with { ReadyAt = null } };
        }
        if (round.ReadyAt is null)
        {
            Say(events, state, "quorum", $"round {round.Number} has its quorum ({round.CheckIns.Count} of minPeers {state.Quorum()}); waiting up to {state.Timings.WaitWindow.TotalSeconds:0.###} s for more peers");
            state = state with { Round = round with { ReadyAt = now } };
        }
        var checkedIn = state.Round.CheckIns.Select(c => c.NodeId).ToHashSet(StringComparer.Ordinal);
        bool everyone = state.ActiveNodes.All(n => checkedIn.Contains(n.NodeId));
        return everyone || now >= state.Round.ReadyAt + state.Timings.WaitWindow ? Close(state, now, events) : state;
    }

    private static IEnumerable<string> LeaderCandidates(ContractState state) =>
        state.Round.CheckIns.Where(c => state.Nodes[c.NodeId].CanLead).Select(c => c.NodeId);

    private static ContractState Close(ContractState state, DateTimeOffset now, List<ContractEvent> events)
    {
        var round = state.Round;
        if (round.Number == 0)
        {
            return CloseInitial(state, now, events);
        }
        var contributions = round.CheckIns
            .Where(c => c.WeightMicros > 0 || round.Number == 0)
            .Select(c => new MergeContribution(MergeContribution.KeyFor(c.NodeId), c.NodeId, c.ModelHash, c.WeightMicros, 0))
            .ToList();
        foreach (var late in state.LatePool.Values)
        {
            int staleness = (int)(round.Number - late.TargetRound);
            if (staleness > state.Timings.MaxStaleness)
            {
                Say(events, state, "late-dropped", $"node '{late.NodeId}''s late model for round {late.TargetRound} is now {staleness} rounds old and was dropped");
                continue;
            }
            if (contributions.Any(c => c.NodeId == late.NodeId))
            {
                // One contribution per node per round: its fresh model counts, so its late one would be a second vote.
                Say(events, state, "late-dropped", $"node '{late.NodeId}''s late model for round {late.TargetRound} was dropped: the node contributes its fresh model to round {round.Number}, and a node has one vote per round");
                continue;
            }
            contributions.Add(new MergeContribution(MergeContribution.KeyFor(late.NodeId, late.TargetRound), late.NodeId, late.ModelHash,
                late.Weight * WeightScale / (staleness + 1), staleness));
        }
        var leaders = LeaderOrder(state.Name, round.Number, LeaderCandidates(state));
        state = state with { LatePool = state.LatePool.Clear() };
        if (contributions.Aggregate(Int128.Zero, (sum, c) => sum + c.WeightMicros) == 0)
        {
            var kept = state.LatestMerged!.Hash;
            Say(events, state, "merged", $"round {round.Number} had nothing to merge (every contribution weighs 0): the model stays {Short(kept)}");
            var unchanged = new MergedRound(round.Number, kept, "", [], [], now, AuditedBy: []);
            return AfterMerge(state with { History = state.History.Add(unchanged) }, events);
        }
        int lateCount = contributions.Count(c => c.Staleness > 0);
        Say(events, state, "closed", $"round {round.Number} closed with {round.CheckIns.Count} nodes{(lateCount > 0 ? $" and {lateCount} late models" : "")}; '{leaders[0]}' leads the merge");
        return state with
        {
            Round = round with
            {
                Phase = RoundPhase.Merging,
                Contributions = [.. contributions],
                LeaderOrder = [.. leaders],
                LeaderIndex = 0,
                LeaderSince = now,
            },
        };
    }

    /// <summary>
    /// Round 0 starts from the initial model held by more than half of its nodes: programs that initialise from the
    /// contract's seed agree, so no single node (nor a minority) decides where the training starts. Without such a
    /// majority (programs that do not seed) it falls back to the first node in the round's leader order, and says so.
    /// </summary>
    private static ContractState CloseInitial(ContractState state, DateTimeOffset now, List<ContractEvent> events)
    {
        var round = state.Round;
        // Nodes that opted out of leading do not serve the round's model first (nor provide it when there is no majority).
        var candidates = LeaderCandidates(state).ToList();
        var leaders = LeaderOrder(state.Name, 0, candidates.Count > 0 ? candidates : round.CheckIns.Select(c => c.NodeId))
            .Concat(LeaderOrder(state.Name, 0, round.CheckIns.Select(c => c.NodeId))).Distinct().ToList();
        var groups = round.CheckIns.GroupBy(c => c.ModelHash)
            .Select(g => (Hash: g.Key, Holders: g.Select(c => c.NodeId).ToHashSet(StringComparer.Ordinal)))
            .OrderByDescending(g => g.Holders.Count).ThenBy(g => g.Hash.Hex, StringComparer.Ordinal).ToList();
        var (hash, holders) = groups[0];
        string text;
        if (holders.Count * 2 > round.CheckIns.Count)
        {
            text = groups.Count == 1
                ? $"round 0: every node ({holders.Count}) starts from the same initial model {Short(hash)}"
                : $"round 0: {holders.Count} of {round.CheckIns.Count} nodes hold the initial model {Short(hash)}, which every node starts from (the others initialised differently)";
        }
        else
        {
            var first = round.CheckIns.Find(c => c.NodeId == leaders[0])!;
            (hash, holders) = (first.ModelHash, [first.NodeId]);
            text = $"round 0: the nodes' initial models differ (no majority among {round.CheckIns.Count}); every node starts from '{first.NodeId}''s {Short(hash)}. Programs that initialise from the contract's seed agree, and then no single node chooses";
        }
        Say(events, state, "merged", text);
        var contributions = round.CheckIns.Select(c => new MergeContribution(MergeContribution.KeyFor(c.NodeId), c.NodeId, c.ModelHash, c.WeightMicros, 0));
        var initial = new MergedRound(0, hash, leaders.First(holders.Contains), [.. contributions], [], now, AuditedBy: []);
        return AfterMerge(state with { History = state.History.Add(initial), LatePool = state.LatePool.Clear() }, events);
    }

    private static ContractState AdvanceMerging(ContractState state, DateTimeOffset now, List<ContractEvent> events)
    {
        var round = state.Round;
        var timeout = state.LeaderTimeout();
        if (now < round.LeaderSince + timeout || round.LeaderOrder.Count == 0)
        {
            return state;
        }
        string failed = round.CurrentLeader!;
        var next = round with { LeaderIndex = round.LeaderIndex + 1, LeaderSince = now };
        Say(events, state, "leader-failed", $"leader '{failed}' did not publish round {round.Number} within {timeout.TotalSeconds:0.###} s; '{next.CurrentLeader}' leads now");
        return state with { Round = next };
    }
}
