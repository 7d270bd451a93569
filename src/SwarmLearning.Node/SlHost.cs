using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Identity;
using SwarmLearning.Network;
using SwarmLearning.Network.Client;
using SwarmLearning.Node.Files;
using SwarmLearning.Node.MlChannel;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;

namespace SwarmLearning.Node;

/// <summary>
/// One Swarm Learning node: its ledger client (SN API), its parameter file server and downloader, and the ML channel
/// (gRPC on a Unix socket) for the one ML program it starts. The round engine itself is the foundation's SwarmNode,
/// driven by the program's calls.
/// </summary>
public sealed partial class SlHost : IAsyncDisposable
{
    private readonly WebApplication _channel;
    private readonly ParameterFileServer _files;
    private readonly SnLedgerClient _ledger;
    private readonly ECDsa _ledgerKey;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lifetime;

    private SlHost(WebApplication channel, ParameterFileServer files, SnLedgerClient ledger, ECDsa ledgerKey, MlSessionEvents events, ILogger logger, CancellationTokenSource lifetime)
    {
        _channel = channel;
        _files = files;
        _ledger = ledger;
        _ledgerKey = ledgerKey;
        Events = events;
        _logger = logger;
        _lifetime = lifetime;
    }

    /// <summary>How long the node keeps trying while none of its SNs answers, at start and during training.</summary>
    public static readonly TimeSpan SnPatience = TimeSpan.FromMinutes(10);

    /// <summary>The file server's port.</summary>
    public int FilePort => _files.Port;

    /// <summary>What the ML program's session did.</summary>
    public MlSessionEvents Events { get; }

    /// <summary>Starts the node: ledger key on chain, file server, ML channel. The ML program is started by <see cref="RunProgramAsync"/>.</summary>
    public static async Task<SlHost> StartAsync(SlOptions options, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        var logger = logs.CreateLogger<SlHost>();
        OwnerOnlyFile.CreateDirectory(options.DataDirectory);
        OwnerOnlyFile.CreateDirectory(options.WorkDirectory);
        var ledgerKey = LedgerKeyFile.OpenOrCreate(options.DataDirectory);
        // Sites start in any order and site links fail: a node waits for its SNs, saying so, rather than give up.
        var ledger = new SnLedgerClient(options.Sns, options.Identity, ledgerKey, options.ChainId, logs.CreateLogger<SnLedgerClient>()) { Patience = SnPatience };
        await ledger.RegisterKeyAsync(cancellationToken);

        var store = new FileParameterStore(Path.Combine(options.WorkDirectory, "files"));
        var members = new ContractMembership(ledger, options.WorkDirectory);
        if (options.FaultDrip is { } drip)
        {
            LogFault(logger, DripFileResult.Variable, drip);
        }
        if (options.FaultByzantine is { } lie)
        {
            LogByzantine(logger, lie.ToString() ?? "?");
        }
        var files = await ParameterFileServer.StartAsync(store, options.Identity, options.Host, options.FilePort, members.ProblemAsync, cancellationToken, options.FaultDrip);
        var limits = new DownloadLimits();
        IParameterTransport transport = new HttpsParameterTransport(store, options.Identity, options.CompressFetches, limits);
        if (options.FaultFetchDelay is { } delay)
        {
            LogFault(logger, SlowTransport.Variable, delay);
            transport = new SlowTransport(transport, delay);
        }
        var lifetime = new CancellationTokenSource();
        var context = new NodeSessionContext(options.Name, ledger, store, transport)
        {
            Lifetime = lifetime.Token, // the node's audits stop with it
            Byzantine = options.FaultByzantine,
            Address = $"https://{options.Host}:{files.Port}",
            Timings = options.Timings,
            CanLead = options.CanLead,
            Logs = logs,
            OnRegistered = (contract, signature) =>
            {
                limits.Expect(signature); // registered: the contract holds this layout, so no file of it is larger
                members.Registered(contract); // and only its members may fetch this node's files
            },
        };
        var session = new NodeSession(context);
        var events = new MlSessionEvents(logs.CreateLogger<MlSessionEvents>());
        var channel = await MlChannelHost.StartAsync(options.SocketPath, session, store, events, logs, cancellationToken);
        string id = options.Identity.Id.ToString(), sns = string.Join(", ", options.Sns.Select(s => s.Authority));
        LogReady(logger, id, context.Address, options.SocketPath, sns);
        return new SlHost(channel, files, ledger, ledgerKey, events, logger, lifetime);
    }

    /// <summary>The variables the node sets in the ML program's environment (a user's --ml-e may not set them).</summary>
    public static IReadOnlyList<string> NodeVariables { get; } = ["SWARM_ML_ENDPOINT", "SWARM_WORK_DIR", "SWARM_NODE_NAME", "SWARM_MODEL_DIR"];

    /// <summary>Runs the ML program to its end with the channel's endpoint in its environment; returns its exit code.</summary>
    public async Task<int> RunProgramAsync(SlOptions options, ILogger programLogger, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(options.MlEnvironment)
        {
            ["SWARM_ML_ENDPOINT"] = "unix:" + options.SocketPath,
            ["SWARM_WORK_DIR"] = options.WorkDirectory,
            ["SWARM_NODE_NAME"] = options.Name,
            ["SWARM_MODEL_DIR"] = options.ModelDirectory,
        };
        await using var program = MlProgram.Start(options.MlCommand!, options.MlWorkingDirectory, environment, programLogger);
        int exitCode = await program.WaitAsync(cancellationToken);
        if (exitCode == 0)
        {
            LogProgramDone(_logger, Events.FinalModel?.Hex ?? "none (the program did not finish its training in the swarm)");
        }
        else
        {
            LogProgramFailed(_logger, exitCode);
        }
        return exitCode;
    }

    /// <summary>Waits until the host is stopped (Ctrl-C, SIGTERM): for a program started by other means.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _channel.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync();
        _lifetime.Dispose();
        await _channel.StopAsync();
        await _channel.DisposeAsync();
        await _files.DisposeAsync();
        _ledger.Dispose();
        _ledgerKey.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SL ready: {Id}, files {FileUrl}, ML channel unix:{Socket}, SNs {Sns}")]
    private static partial void LogReady(ILogger logger, string id, string fileUrl, string socket, string sns);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fault injection ({Variable}): {Delay}")]
    private static partial void LogFault(ILogger logger, string variable, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "fault injection (SWARM_FAULT_BYZANTINE): this node is Byzantine: {Behaviour}")]
    private static partial void LogByzantine(ILogger logger, string behaviour);


    [LoggerMessage(Level = LogLevel.Information, Message = "the ML program finished; final swarm model {Hash}")]
    private static partial void LogProgramDone(ILogger logger, string hash);

    [LoggerMessage(Level = LogLevel.Error, Message = "the ML program exited with code {Code}: see its output above (lines marked [ml])")]
    private static partial void LogProgramFailed(ILogger logger, int code);
}
