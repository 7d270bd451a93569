using SwarmLearning.Identity.Tls;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Node;

/// <summary>How `swarm run-sl` runs one Swarm Learning node and its ML program.</summary>
public sealed record SlOptions
{
    /// <summary>Default file server port.</summary>
    public const int DefaultFilePort = 30305;

    /// <summary>The node's name: its identity is spiffe://TD/sl/NAME and its id in training contracts.</summary>
    public required string Name { get; init; }

    /// <summary>Ledger key, parameter files, the ML channel's socket.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The node's identity.</summary>
    public required ISvidSource Identity { get; init; }

    /// <summary>The SN API URLs to use, in order of preference (the next one is tried when one is down).</summary>
    public required IReadOnlyList<Uri> Sns { get; init; }

    /// <summary>The ledger's chain id (TD/main).</summary>
    public required string ChainId { get; init; }

    /// <summary>The address this node listens on and peers reach its file server at.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The file server port (0: any free port).</summary>
    public int FilePort { get; init; } = DefaultFilePort;

    /// <summary>Ask peers for zstd-compressed parameter files (docs/sl-node.md).</summary>
    public bool CompressFetches { get; init; }

    /// <summary>The user's ML program, run with `sh -c`; null to wait for a program started by other means.</summary>
    public string? MlCommand { get; init; }

    /// <summary>The ML program's working directory (default: the current one).</summary>
    public string? MlWorkingDirectory { get; init; }

    /// <summary>Environment for the ML program beyond the channel's variables (e.g. CUDA_VISIBLE_DEVICES).</summary>
    public IReadOnlyDictionary<string, string> MlEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Where the `&lt;program-name&gt;_sw.log` is written (the model folder).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>Timings proposed if this node's registration creates the contract.</summary>
    public ContractTimings? Timings { get; init; }

    /// <summary>False opts the node out of leading merges.</summary>
    public bool CanLead { get; init; } = true;

    /// <summary>Fault injection: a delay before every fetch (SWARM_FAULT_FETCH_DELAY), for kill drills.</summary>
    public TimeSpan? FaultFetchDelay { get; init; }

    /// <summary>Fault injection: the file server sends one byte per this interval (SWARM_FAULT_DRIP), a drip-feeding contributor.</summary>
    public TimeSpan? FaultDrip { get; init; }

    /// <summary>Fault injection: the node lies as SWARM_FAULT_BYZANTINE says (an attack kind: leader-random, auditor-lie...), with SWARM_FAULT_COLLUDERS.</summary>
    public Protocol.Node.IByzantineBehaviour? FaultByzantine { get; init; }

    /// <summary>The ML channel's socket.</summary>
    public string SocketPath => Path.Combine(DataDirectory, "ml.sock");

    /// <summary>The folder the program and the node exchange safetensors files in.</summary>
    public string WorkDirectory => Path.Combine(DataDirectory, "work");
}
