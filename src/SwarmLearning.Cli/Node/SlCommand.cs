using System.CommandLine;
using Microsoft.Extensions.Logging;
using SwarmLearning.Core;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Node;
using SwarmLearning.Node.Files;
using SwarmLearning.Node.MlChannel;
using SwarmLearning.Protocol.Contract;

namespace SwarmLearning.Cli.Node;

/// <summary>`swarm run-sl`: one Swarm Learning node and the user's ML program it pairs with.</summary>
internal static class SlCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "this node's name: its identity is spiffe://<trust-domain>/sl/<name>", Required = true };
        var dataDir = new Option<string?>("--data-dir") { Description = "state folder (default $SWARM_HOME/sl-<name>)" };
        var host = new Option<string>("--host") { Description = "the IP address this node listens on and peers reach it at", DefaultValueFactory = _ => "127.0.0.1" };
        var filePort = new Option<int>("--sl-fs-port") { Description = "file server port (parameter files, HTTPS, mTLS)", DefaultValueFactory = _ => SlOptions.DefaultFilePort };
        var compress = new Option<bool>("--sl-fs-compress") { Description = "ask peers for zstd-compressed parameter files (for slow links; costs CPU on both ends, saves ~8 % on trained float32 weights)" };
        var snIp = new Option<string>("--sn-ip") { Description = "address of the SN whose API this node uses", DefaultValueFactory = _ => "127.0.0.1" };
        var snApiPort = new Option<int>("--sn-api-port") { Description = "that SN's API port", DefaultValueFactory = _ => 30304 };
        var moreSns = new Option<string[]>("--sn") { Description = "further SN APIs (host:port) to fail over to; may be repeated", AllowMultipleArgumentsPerToken = true };
        var identityServer = new Option<string>("--identity-server") { Description = "identity server host:port", DefaultValueFactory = _ => "127.0.0.1:8081" };
        var joinToken = JoinTokenInput.ValueOption("one-time token for this node's first SVID (not needed once an SVID is on disk)");
        var joinTokenFile = JoinTokenInput.FileOption();
        var cert = new Option<string?>("--cert") { Description = "use this certificate (PEM X509-SVID) instead of the identity server" };
        var key = new Option<string?>("--key") { Description = "its private key (PEM)" };
        var capath = new Option<string?>("--capath") { Description = "trust bundle: a CA file or a folder of them" };
        var apls = Licensing.LicenseOption.Create();
        var mlCommand = new Option<string?>("--ml-cmd") { Description = "the ML program, run with sh -c (it finds the node through SWARM_ML_ENDPOINT); without it (or with '') the node waits for a program started by hand, serving its parameter files" };
        var mlDir = new Option<string?>("--ml-dir") { Description = "the ML program's working folder (default: the current one)" };
        var gpu = new Option<string?>("--gpu") { Description = "GPUs the ML program may use: indices (0,2) or all; default none (CPU)" };
        var modelDir = new Option<string?>("--model-dir") { Description = "model folder, the program's MODEL_DIR: the <program-name>_sw.log goes here (default <data-dir>/model)" };
        var scratchDir = new Option<string?>("--scratch-dir") { Description = "the program's SCRATCH_DIR, for what it saves (default <data-dir>/scratch)" };
        var mlDataDir = new Option<string?>("--ml-data-dir") { Description = "the program's DATA_DIR: where this site's training data is" };
        var mlEnvironment = new Option<string[]>("--ml-e") { Description = "NAME=VALUE in the ML program's environment (HPE's --ml-e; repeatable; wins over MODEL_DIR, SCRATCH_DIR, DATA_DIR)" };
        var noLead = new Option<bool>("--no-lead") { Description = "never lead a merge (HPE: SL_MAKE_ME_ADMIN=False)" };
        var waitWindow = new Option<string>("--wait-window") { Description = "contract timing: wait for more peers after quorum (given: the contract must have the same, or this node creates it with it)", DefaultValueFactory = _ => "30s" };
        var leaderTimeout = new Option<string>("--leader-timeout") { Description = "contract timing: replace a leader that has not merged after", DefaultValueFactory = _ => "600s" };
        var stragglerTimeout = new Option<string?>("--straggler-timeout") { Description = "contract timing: finish without nodes silent this long (default: the leader timeout)" };
        var foreground = Operations.OperationsCommands.ForegroundOption();
        var command = new Command("run-sl", "run a Swarm Learning node: it starts the ML program, shares its parameters with the other nodes and merges")
        {
            name, dataDir, host, filePort, compress, snIp, snApiPort, moreSns, identityServer, joinToken, joinTokenFile, cert, key, capath, apls, mlCommand, mlDir, mlEnvironment, mlDataDir, gpu, modelDir, scratchDir, noLead, foreground,
            waitWindow, leaderTimeout, stragglerTimeout, ConfigFile.Option(),
        };
        command.SetAction((parse, cancellationToken) => !parse.GetValue(foreground)
            ? CommandRun.Guarded(() => Operations.Background.LaunchAsync("sl-" + parse.GetValue(name), "SL ready|waiting for an SN", cancellationToken))
            : CommandRun.Guarded(async () =>
        {
            string nodeName = parse.GetValue(name)!;
            string data = Path.GetFullPath(parse.GetValue(dataDir) ?? SwarmHome.Of("sl-" + nodeName));
            SwarmLearning.Identity.OwnerOnlyFile.CreateDirectory(data); // first, so nothing creates it with wider permissions
            string models = Path.GetFullPath(parse.GetValue(modelDir) ?? Path.Combine(data, "model"));
            string? program = string.IsNullOrWhiteSpace(parse.GetValue(mlCommand)) ? null : parse.GetValue(mlCommand); // --ml-cmd '' overrides a config file's program
            string scratch = Path.GetFullPath(parse.GetValue(scratchDir) ?? Path.Combine(data, "scratch"));
            var environment = new Dictionary<string, string> { ["MODEL_DIR"] = models, ["SCRATCH_DIR"] = scratch };
            if (parse.GetValue(mlDataDir) is { } mlData)
            {
                environment["DATA_DIR"] = Path.GetFullPath(mlData);
            }
            if (parse.GetValue(gpu) is { } gpus)
            {
                environment["CUDA_VISIBLE_DEVICES"] = GpuSelection.Resolve(gpus, GpuSelection.Detect());
            }
            foreach (var (variable, value) in MlEnvironment.Parse(parse.GetValue(mlEnvironment) ?? []))
            {
                environment[variable] = value;
            }
            var timings = new ContractTimings(Duration.Parse(parse.GetValue(waitWindow)!, "--wait-window"), Duration.Parse(parse.GetValue(leaderTimeout)!, "--leader-timeout"),
                ContractTimings.Default.MaxStaleness, parse.GetValue(stragglerTimeout) is { } straggler ? Duration.Parse(straggler, "--straggler-timeout") : null);
            if (timings.Problem() is { } problem)
            {
                throw new SwarmException(problem);
            }
            Directory.CreateDirectory(models);
            SwarmLearning.Identity.OwnerOnlyFile.CreateDirectory(scratch);
            using var swLog = new SwLogProvider(Path.Combine(models, MlProgram.NameOf(program ?? "ml") + "_sw.log"));
            using var logs = LoggerFactory.Create(logging => CommandRun.ConsoleLogging(logging.AddProvider(swLog)));
            var identity = await Network.SnCommand.IdentityOf(parse.GetValue(cert), parse.GetValue(key), parse.GetValue(capath), parse.GetValue(identityServer)!, JoinTokenInput.Resolve(parse.GetValue(joinToken), parse.GetValue(joinTokenFile)),
                Path.Combine(data, "identity"), logs.CreateLogger("SwarmLearning.Identity"), cancellationToken);
            if (SwarmIdentities.SlNodeName(identity.Id) != nodeName)
            {
                throw new SwarmException($"this node's certificate is for {identity.Id}, not spiffe://{identity.Id.TrustDomain}/sl/{nodeName}: create the join token for that ID, or pass --name {identity.Id.Segments[^1]}");
            }
            await using var seat = await Licensing.LicenseOption.CheckoutAsync(parse.GetValue(apls), identity, "sl", logs, cancellationToken);
            var sns = new List<Uri> { new($"https://{parse.GetValue(snIp)}:{parse.GetValue(snApiPort)}") };
            sns.AddRange((parse.GetValue(moreSns) ?? []).Select(sn => new Uri($"https://{sn}")));
            var options = new SlOptions
            {
                Name = nodeName, DataDirectory = data, Identity = identity, Sns = sns, ChainId = identity.Id.TrustDomain + "/main", Host = parse.GetValue(host)!,
                FilePort = parse.GetValue(filePort), CompressFetches = parse.GetValue(compress), MlCommand = program, MlWorkingDirectory = parse.GetValue(mlDir), MlEnvironment = environment,
                // Timings only when given: a node that says nothing takes the contract's (an operator may have set them).
                ModelDirectory = models, Timings = new Option[] { waitWindow, leaderTimeout, stragglerTimeout }.Any(o => parse.GetResult(o) is { Implicit: false }) ? timings : null,
                CanLead = !parse.GetValue(noLead),
                FaultFetchDelay = Environment.GetEnvironmentVariable(SlowTransport.Variable) is { Length: > 0 } fault ? Duration.Parse(fault, SlowTransport.Variable) : null,
                FaultDrip = Environment.GetEnvironmentVariable("SWARM_FAULT_DRIP") is { Length: > 0 } drip ? Duration.Parse(drip, "SWARM_FAULT_DRIP") : null,
                FaultByzantine = Protocol.Attacks.ByzantineNode.FromEnvironment(nodeName, Environment.GetEnvironmentVariable("SWARM_FAULT_BYZANTINE"), Environment.GetEnvironmentVariable("SWARM_FAULT_COLLUDERS")),
            };
            await using var node = await SlHost.StartAsync(options, logs, cancellationToken);
            if (program is null)
            {
                Console.WriteLine($"waiting for an ML program: start it with SWARM_ML_ENDPOINT=unix:{options.SocketPath} SWARM_WORK_DIR={options.WorkDirectory}");
                await node.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
            return await node.RunProgramAsync(options, logs.CreateLogger("SwarmLearning.Ml"), cancellationToken);
        }));
        return command;
    }
}
