namespace SwarmLearning.Protocol.Contract;

public static partial class TrainingContract
{
    private static ContractState Create(ContractState? state, CreateContract create, TxContext context, List<ContractEvent> events)
    {
        if (!context.IsOperator)
        {
            throw Reject("not-operator", $"only an operator may create contract '{create.Contract}'");
        }
        if (state is not null)
        {
            throw Reject("exists", $"contract '{create.Contract}' exists already; reset it or choose another name");
        }
        CheckSettings(create.Parameters, create.Timings);
        var created = ContractState.Create(create.Contract, create.Parameters, create.Timings);
        Say(events, created, "created", $"contract '{create.Contract}' created: minPeers {create.Parameters.MinPeers}, merge {create.Parameters.MergeMethod}");
        return created;
    }

    private static ContractState Register(ContractState? state, RegisterNode register, TxContext context, List<ContractEvent> events)
    {
        if (context.Sender != register.NodeId && !context.IsOperator)
        {
            throw Reject("not-sender", $"node '{register.NodeId}' must register itself (sender was '{context.Sender}')");
        }
        if (string.IsNullOrWhiteSpace(register.NodeId))
        {
            throw Reject("no-node-id", "a registration must name the node");
        }
        if (register.Signature.Tensors.Count == 0)
        {
            throw Reject("empty-model", $"node '{register.NodeId}' registered a model with no tensors");
        }
        if (state is null)
        {
            // Verification is the operator's to set: a node whose registration creates the contract gets the default.
            var parameters = register.Parameters with { Auditors = TrainingParameters.DefaultAuditors };
            CheckSettings(parameters, register.Timings ?? ContractTimings.Default);
            state = ContractState.Create(register.Contract, parameters, register.Timings ?? ContractTimings.Default);
            Say(events, state, "created", $"contract '{state.Name}' created by node '{register.NodeId}': minPeers {register.Parameters.MinPeers}, merge {register.Parameters.MergeMethod}");
        }
        if (state.Nodes.GetValueOrDefault(register.NodeId)?.Byzantine is { } mark)
        {
            throw Reject("byzantine", $"node '{register.NodeId}' was found Byzantine in contract '{state.Name}' at round {mark.Round} (it {mark.Reason}); it cannot register again. An operator may reset the contract");
        }
        string? parameterDifference = state.Parameters.DescribeDifference(register.Parameters, state.Name);
        if (parameterDifference is not null)
        {
            throw Reject("parameter-mismatch", $"node '{register.NodeId}' refused: {parameterDifference}");
        }
        string? modelDifference = state.Signature?.DescribeDifference(register.Signature);
        if (modelDifference is not null)
        {
            throw Reject("signature-mismatch", $"node '{register.NodeId}' refused: its model differs from the one contract '{state.Name}' trains: {modelDifference}. Every node must run the same model");
        }
        if (register.Timings is { } timings && state.Timings.DescribeDifference(timings, state.Name) is { } timingDifference)
        {
            throw Reject("timing-mismatch", $"node '{register.NodeId}' refused: {timingDifference}");
        }
        bool completed = state.Status == ContractStatus.Completed;
        var node = new NodeRecord(register.NodeId, completed ? NodeStatus.Finished : NodeStatus.Training,
            register.CanLead, register.Address, state.Round.Number, state.Nodes.GetValueOrDefault(register.NodeId)?.Progress);
        bool rejoin = state.Nodes.ContainsKey(register.NodeId);
        Say(events, state, "registered", completed
            ? $"node '{register.NodeId}' registered after the training completed; the final model is {Short(state.FinalModel)}"
            : $"node '{register.NodeId}' {(rejoin ? "registered again" : "joined")} at round {state.Round.Number}{(register.CanLead ? "" : " (will not lead)")}");
        // A node registering again is a new incarnation: what the old one offered in this round is void.
        var round = state.Round.Phase == RoundPhase.Collecting
            ? state.Round with { CheckIns = state.Round.CheckIns.RemoveAll(c => c.NodeId == register.NodeId) }
            : state.Round;
        return state with
        {
            Signature = state.Signature ?? register.Signature,
            Nodes = state.Nodes.SetItem(register.NodeId, node),
            Round = round,
            LatePool = state.LatePool.Remove(register.NodeId),
        };
    }

    private static ContractState Finish(ContractState state, NodeRecord node, List<ContractEvent> events)
    {
        if (node.Status == NodeStatus.Finished)
        {
            return state;
        }
        Say(events, state, "finished", $"node '{node.NodeId}' finished its epochs at round {state.Round.Number}");
        return state with { Nodes = state.Nodes.SetItem(node.NodeId, node with { Status = NodeStatus.Finished }) };
    }

    private static ContractState Leave(ContractState state, NodeRecord node, string how, List<ContractEvent> events)
    {
        Say(events, state, "left", $"node '{node.NodeId}' {how} at round {state.Round.Number}");
        var round = state.Round.Phase == RoundPhase.Collecting
            ? state.Round with { CheckIns = state.Round.CheckIns.RemoveAll(c => c.NodeId == node.NodeId) }
            : state.Round;
        return state with
        {
            Nodes = state.Nodes.SetItem(node.NodeId, node with { Status = NodeStatus.Left }),
            Round = round,
            LatePool = state.LatePool.Remove(node.NodeId),
        };
    }

    private static ContractState Report(ContractState state, ReportProgress report, NodeRecord node)
    {
        if (report.EpochsDone < 0 || report.TotalEpochs < 0)
        {
            throw Reject("bad-progress", $"node '{node.NodeId}' reported negative epochs");
        }
        if (report.Epsilon is double epsilon && !(epsilon >= 0 && double.IsFinite(epsilon)))
        {
            throw Reject("bad-progress", $"node '{node.NodeId}' reported a privacy loss (epsilon) that is not a finite number of at least 0");
        }
        var progress = new Progress(report.Round, report.EpochsDone, report.TotalEpochs, report.Loss, report.Metric, report.Epsilon);
        return state with { Nodes = state.Nodes.SetItem(node.NodeId, node with { Progress = progress }) };
    }

    private static ContractState Reset(ContractState state, ResetContract reset, TxContext context, List<ContractEvent> events)
    {
        if (!context.IsOperator)
        {
            throw Reject("not-operator", $"only an operator may reset contract '{reset.Contract}'");
        }
        Say(events, state, "reset", $"contract '{state.Name}' reset by '{context.Sender}' at round {state.Round.Number}");
        return ContractState.Create(state.Name, state.Parameters, state.Timings) with { Version = state.Version };
    }

    private static void CheckSettings(TrainingParameters parameters, ContractTimings timings)
    {
        string? problem = parameters.Problem() ?? timings.Problem();
        if (problem is not null)
        {
            throw Reject("bad-parameters", problem);
        }
        Core.Merging.IMergeMethod method;
        try
        {
            method = Core.Merging.MergeMethods.Parse(parameters.MergeMethod);
        }
        catch (Core.MergeException e)
        {
            throw Reject("bad-merge-method", e.Message);
        }
        if (method is Core.Merging.IRobustMerge robust && parameters.MinPeers < robust.MinimumModels)
        {
            throw Reject("bad-merge-method", $"merge method '{method.Name}' assumes {robust.Assumption}, but minPeers is {parameters.MinPeers}, so a round may merge only {parameters.MinPeers} models; raise minPeers to {robust.MinimumModels} or lower f");
        }
    }
}
