namespace SwarmLearning.Protocol.Contract;

/// <summary>
/// The shape every contract transaction must have before the contract acts on it: each field present, well-formed and
/// within its bounds. <see cref="ContractRegistry.Apply"/> refuses a misshapen one as <c>malformed</c>, so the ledger
/// on the SNs and the in-memory twin refuse alike (and a protocol test meets what an SN would refuse).
/// </summary>
public static class ContractTxShape
{
    /// <summary>The longest contract name, node name, chain id or reason.</summary>
    public const int MaxNameLength = 128;

    /// <summary>The most tensors a model signature may list.</summary>
    public const int MaxTensors = 100_000;

    /// <summary>Null when <paramref name="tx"/> is well-formed, otherwise "field: what is wrong" (fields under <paramref name="at"/>).</summary>
    public static string? Problem(ContractTx? tx, string at = "tx")
    {
        if (tx is null)
        {
            return $"{at}: missing";
        }
        return NameProblem(tx.Contract, $"{at}.contract") ?? tx switch
        {
            CreateContract t => (t.Parameters is null ? $"{at}.parameters: missing" : null) ?? TextProblem(t.Parameters?.MergeMethod, $"{at}.parameters.mergeMethod")
                ?? (t.Timings is null ? $"{at}.timings: missing" : null),
            RegisterNode t => NameProblem(t.NodeId, $"{at}.nodeId") ?? SignatureProblem(t, at)
                ?? (t.Parameters is null ? $"{at}.parameters: missing" : null) ?? TextProblem(t.Parameters?.MergeMethod, $"{at}.parameters.mergeMethod")
                ?? (t.Address is null ? null : HttpsUrlProblem(t.Address, $"{at}.address")),
            CheckIn t => NameProblem(t.NodeId, $"{at}.nodeId") ?? (t.Weight < 0 ? $"{at}.weight: cannot be negative" : null),
            PublishMerge t => NameProblem(t.NodeId, $"{at}.nodeId") ?? KeysProblem(t.Excluded, $"{at}.excluded")
                ?? (t.Unreachable is null ? null : KeysProblem(t.Unreachable, $"{at}.unreachable")),
            AuditMerge t => NameProblem(t.NodeId, $"{at}.nodeId") ?? (Enum.IsDefined(t.Finding) ? null : $"{at}.finding: agree, wrong, overruled or unavailable")
                ?? (t.Detail is { Length: > 2 * MaxNameLength } ? $"{at}.detail: longer than {2 * MaxNameLength} characters" : null)
                ?? (t.Fetched is null ? null : KeysProblem(t.Fetched, $"{at}.fetched")),
            ReportProgress t => NameProblem(t.NodeId, $"{at}.nodeId"),
            FinishTraining t => NameProblem(t.NodeId, $"{at}.nodeId"),
            LeaveContract t => NameProblem(t.NodeId, $"{at}.nodeId"),
            RemoveNode t => NameProblem(t.NodeId, $"{at}.nodeId"),
            ReportLostMerge t => NameProblem(t.NodeId, $"{at}.nodeId"),
            ResetContract or Tick => null,
            _ => $"{at}: unknown kind",
        };
    }

    private static string? KeysProblem(IReadOnlyList<string>? keys, string field) =>
        keys is null ? $"{field}: missing"
        : keys.Count > 100_000 || keys.Any(k => ContributionKeyProblem(k) is not null)
            ? $"{field}: every entry must be a contribution key (a node name, or name@rN for a late model)" : null;

    /// <summary>Null when <paramref name="key"/> is a contribution key (see <see cref="MergeContribution.KeyFor"/>).</summary>
    public static string? ContributionKeyProblem(string? key)
    {
        int at = key?.IndexOf('@', StringComparison.Ordinal) ?? -1;
        if (at < 0)
        {
            return NameProblem(key, "key");
        }
        string round = key![(at + 2)..];
        return NameProblem(key[..at], "key")
            ?? (key.Length > at + 2 && key[at + 1] == 'r' && round.Length <= 18 && round.All(char.IsAsciiDigit) ? null : "key: expected name@rN");
    }

    /// <summary>Null when <paramref name="value"/> is a name: letters, digits and . _ - : / only, at most <see cref="MaxNameLength"/>.</summary>
    public static string? NameProblem(string? value, string field) =>
        string.IsNullOrEmpty(value) ? $"{field}: missing"
        : value.Length > MaxNameLength ? $"{field}: longer than {MaxNameLength} characters"
        : value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '/')) ? $"{field}: only letters, digits and . _ - : / are allowed"
        : null;

    /// <summary>Null when <paramref name="value"/> is present and at most <see cref="MaxNameLength"/> characters.</summary>
    public static string? TextProblem(string? value, string field) =>
        string.IsNullOrEmpty(value) ? $"{field}: missing" : value.Length > MaxNameLength ? $"{field}: longer than {MaxNameLength} characters" : null;

    /// <summary>Null when <paramref name="value"/> is an absolute https URL of reasonable length.</summary>
    public static string? HttpsUrlProblem(string? value, string field) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps && value!.Length <= 2 * MaxNameLength
            ? null : $"{field}: not an https URL";

    private static string? SignatureProblem(RegisterNode t, string at)
    {
        if (t.Signature?.Tensors is not { } tensors)
        {
            return $"{at}.signature.tensors: missing";
        }
        if (tensors.Count > MaxTensors)
        {
            return $"{at}.signature.tensors: more than {MaxTensors}";
        }
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i] is not { Name: not null, Shape: not null } spec)
            {
                return $"{at}.signature.tensors[{i}]: name and shape are required";
            }
            if (!Enum.IsDefined(spec.DType) || spec.Shape.Any(d => d < 0))
            {
                return $"{at}.signature.tensors[{i}]: unknown dtype or negative dimension";
            }
        }
        return null;
    }
}
