using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Spectre.Console;
using SwarmLearning.Cli.Simulate;
using SwarmLearning.Core;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Licensing.Licenses;
using SwarmLearning.Licensing.Server;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.TorchSharp;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;

namespace SwarmLearning.Cli.Up;

/// <summary>
/// `swarm up`: the whole swarm on this machine, every component a real process: a licence server with a locally issued
/// licence, the identity server, 3 SNs (the ledger survives the loss of one) and N SL nodes, each running the
/// Fashion-MNIST CNN example on its own label-skewed shard. Shows progress, then compares the swarm's model with each
/// node trained alone and with all the data pooled, summarises and verifies the ledger, and stops everything.
/// </summary>
internal sealed partial class UpRunner(UpOptions options, IAnsiConsole console)
{
    private const string Contract = "fashion-mnist";
    private const int ValidationImages = 500;
    private readonly List<ChildProcess> _children = [];
    private readonly UpDisplay _display = new(console, options.Epochs);
    private readonly Dictionary<string, int> _ports = [];
    private string Logs => Path.Combine(options.Home, "logs");

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        Prerequisites.EnsureDataset(console);
        string example = SwarmExecutable.Beside("fashion-mnist") is { } published ? $"'{published}'" : $"dotnet '{await BuildExampleAsync(RepositoryRoot(), cancellationToken)}'";
        if (Directory.Exists(options.Home))
        {
            Directory.Delete(options.Home, recursive: true); // a fresh swarm each time: new CA, new chain
        }
        Directory.CreateDirectory(Logs);
        try
        {
            await StartInfrastructureAsync(cancellationToken);
            var (operatorIdentity, dashboard) = await StartDashboardAsync(cancellationToken);
            await using var renewed = operatorIdentity; // disposed after the dashboard (declared first)
            await using var shown = dashboard;
            await CreateContractAsync(operatorIdentity, cancellationToken);
            var nodes = await StartNodesAsync(example, cancellationToken);
            var training = Stopwatch.StartNew(); // from the last node's start to the last program's end
            string images = options.ImagesPerNode > 0 ? $"{options.ImagesPerNode} images" : "its whole share";
            console.MarkupLine($"[bold]training[/]: {options.Nodes} nodes x {images} ({options.Partition}, seed {options.Seed}), {options.Epochs} epochs, sync every {options.SyncFrequency} batches, " +
                $"minPeers {options.MinPeers}, merge {options.Merge}; recipe {string.Join(' ', options.Recipe.ToArguments())}");
            await _display.ShowAsync(Task.WhenAll(nodes.Select(n => n.WaitForExitAsync(cancellationToken))));
            training.Stop();
            var failed = nodes.Where(n => n.ExitCode != 0).ToList();
            if (failed.Count > 0)
            {
                throw new SwarmException($"{string.Join(", ", failed.Select(f => f.Name))} failed; see {Logs}");
            }
            var ledger = await LedgerSummaryAsync(cancellationToken);
            var finals = nodes.ToDictionary(n => n.Name, n => Result(n.Name).GetProperty("model").GetString()!);
            double swarmAccuracy = nodes.Average(n => Result(n.Name).GetProperty("accuracy").GetDouble());
            await StopAllAsync();
            ledger = ledger with { ChainVerifies = Verify(out string message), VerifyMessage = message };

            console.MarkupLine("[bold]baselines[/]: each node alone on its own data, and one model on all of it (same epochs)");
            var (shares, alone, central) = await BaselinesAsync(cancellationToken);
            var accuracy = new SimulateReport("cnn", options.Partition, options.Nodes, options.MinPeers, options.Epochs, options.SyncFrequency, shares.Sum(s => s.Count),
                options.TestImages, [.. shares.Select(s => s.Count)],
                [new SwarmRun(options.Merge, swarmAccuracy, ledger.Merges.Count, finals.Values.Distinct().Count() == 1 && finals.Values.First() == ledger.FinalModel, ledger.FinalModel ?? "", [], clock.Elapsed.TotalSeconds)],
                alone, central, "swarm up " + string.Join(' ', Environment.GetCommandLineArgs().Skip(2)));
            var report = new UpReport(accuracy, ledger, finals, clock.Elapsed.TotalSeconds, training.Elapsed.TotalSeconds);
            Print(report, alone, central);
            await File.WriteAllTextAsync(Path.Combine(options.Home, "report.json"), JsonSerializer.Serialize(report, SimulateReport.JsonOptions), cancellationToken);
            SimulateChart.Save(accuracy, Path.Combine(options.Home, "report.png"));
            console.MarkupLine($"report: {options.Home}/report.json, chart {options.Home}/report.png, logs {Logs}/ ({clock.Elapsed.TotalMinutes:F1} min)");
            if (swarmAccuracy <= alone.Average())
            {
                console.MarkupLine("[yellow]the swarm did not beat the average node alone this time: with very little data or training (see the options) the comparison is noise[/]");
            }
            return 0;
        }
        finally
        {
            await StopAllAsync();
        }
    }

    private async Task StartInfrastructureAsync(CancellationToken cancellationToken)
    {
        string id = Path.Combine(options.Home, "id");
        var identity = Start("identity", "run-spire-server", "--data-dir", id, "--host", "127.0.0.1", "--port", "0");
        string identityAddress = "127.0.0.1:" + (await identity.WaitForAsync(@"listening on 127\.0\.0\.1:(\d+)", TimeSpan.FromSeconds(60), cancellationToken)).Groups[1].Value;
        console.MarkupLine($"identity server   {identityAddress}");

        // A licence issued here for this swarm (for real deployments the issuer is the vendor).
        string apls = Path.Combine(options.Home, "apls");
        using (var issuer = IssuerKeys.OpenOrCreateSigningKey(Path.Combine(apls, "issuers", "local-issuer.key")))
        {
            var now = DateTimeOffset.UtcNow;
            var terms = new LicenseTerms("local-" + now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture), Environment.UserName, ["swarm-learning"], 3 + options.Nodes, now.AddMinutes(-5), now.AddDays(1));
            new SeatBook(apls, IssuerKeys.Load(Path.Combine(apls, "issuers")), TimeSpan.FromSeconds(60), TimeProvider.System).Install(LicenseFile.Issue(terms, issuer).ToJson(), "the local licence");
        }
        _ports["apls"] = FreePort();
        var licence = StartComponent("apls", await TokenAsync(id, "apls", cancellationToken), "run-apls", "--data-dir", apls, "--port", $"{_ports["apls"]}", "--lease", "20s",
            "--identity-server", identityAddress);
        await licence.WaitForAsync("licence server listening", TimeSpan.FromSeconds(60), cancellationToken);
        console.MarkupLine($"licence server    127.0.0.1:{_ports["apls"]} ({3 + options.Nodes} seats, local licence)");

        foreach (string sn in new[] { "sn1", "sn2", "sn3" })
        {
            _ports[sn] = FreePort();
            var arguments = new List<string>
            {
                "run-sn", "--name", sn, "--data-dir", Path.Combine(options.Home, sn), "--ledger-port", $"{FreePort()}", "--api-port", $"{_ports[sn]}", "--sn-fs-port", $"{FreePort()}",
                "--identity-server", identityAddress, "--apls", $"127.0.0.1:{_ports["apls"]}",
            };
            arguments.AddRange(sn == "sn1" ? ["--sentinel"] : ["--sentinel-ip", "127.0.0.1", "--sentinel-api-port", $"{_ports["sn1"]}"]);
            await StartComponent(sn, await TokenAsync(id, "sn/" + sn, cancellationToken), [.. arguments]).WaitForAsync("SN ready", TimeSpan.FromSeconds(120), cancellationToken);
            console.MarkupLine($"swarm network     {sn} API 127.0.0.1:{_ports[sn]}{(sn == "sn1" ? " (sentinel)" : "")}");
        }
        _ports["identity"] = int.Parse(identityAddress.Split(':')[1], CultureInfo.InvariantCulture);
    }

    private async Task<List<ChildProcess>> StartNodesAsync(string example, CancellationToken cancellationToken)
    {
        string id = Path.Combine(options.Home, "id");
        var nodes = new List<ChildProcess>();
        for (int i = 0; i < options.Nodes; i++)
        {
            string name = $"node{i + 1}", sn = $"sn{i % 3 + 1}";
            // The same training as `swarm simulate` (NodeTraining, TrainingRecipe): one libtorch thread per node, as there.
            string program = $"{example} --shard {i} --shards {options.Nodes} --partition {options.Partition} --seed {options.Seed} --limit {options.ImagesPerNode} " +
                $"--epochs {options.Epochs} --sync-frequency {options.SyncFrequency} --min-peers {options.MinPeers} --merge {options.Merge} --validation {ValidationImages} " +
                $"--test {options.TestImages} --contract {Contract} --threads 1 {string.Join(' ', options.Recipe.ToArguments())}";
            var node = StartComponent(name, await TokenAsync(id, "sl/" + name, cancellationToken), "run-sl", "--name", name, "--data-dir", Path.Combine(options.Home, name), "--sl-fs-port", "0", "--sn-api-port", $"{_ports[sn]}",
                "--sn", $"127.0.0.1:{_ports[sn == "sn1" ? "sn2" : "sn1"]}", "--identity-server", $"127.0.0.1:{_ports["identity"]}",
                "--apls", $"127.0.0.1:{_ports["apls"]}", "--wait-window", "2s", "--leader-timeout", "60s",
                "--ml-cmd", program);
            await node.WaitForAsync("SL ready", TimeSpan.FromSeconds(120), cancellationToken);
            console.MarkupLine($"swarm learning    {name} (API of {sn})");
            _display.Add(name);
            nodes.Add(node);
        }
        return nodes;
    }

    private ChildProcess Start(string name, params string[] arguments) => StartComponent(name, null, arguments);

    /// <summary>Starts a component; its join token goes in its environment, never on its command line.</summary>
    private ChildProcess StartComponent(string name, string? joinToken, params string[] arguments)
    {
        var environment = new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1" };
        if (joinToken is not null)
        {
            environment[JoinTokenInput.Variable] = joinToken;
        }
        var child = ChildProcess.Start(name, Path.Combine(Logs, name + ".log"), Progress, environment, arguments);
        _children.Add(child);
        return child;
    }

    // Live progress from the components' output: each node's epochs, round and validation, and each merge with its leader.
    private void Progress(ChildProcess child, string line)
    {
        if (EpochLine().Match(line) is { Success: true } epoch)
        {
            _display.Epoch(child.Name, Int(epoch.Groups[1].Value), Int(epoch.Groups[2].Value), epoch.Groups[3].Value);
        }
        else if (SyncedLine().Match(line) is { Success: true } synced)
        {
            _display.Synced(child.Name, Int(synced.Groups[1].Value));
        }
        else if (ValidationLine().Match(line) is { Success: true } validation)
        {
            _display.Validated(child.Name, Int(validation.Groups[1].Value), double.Parse(validation.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        else if (FinalLine().Match(line) is { Success: true } final)
        {
            _display.Finished(child.Name, Int(final.Groups[1].Value));
        }
        else if (MergeLine().Match(line) is { Success: true } merge)
        {
            _display.Merged(merge.Groups[1].Value, Int(merge.Groups[3].Value), merge.Groups[2].Value, merge.Groups[4].Value);
        }
        else if (line.Contains(" fail: ", StringComparison.Ordinal) || line.StartsWith("error:", StringComparison.Ordinal))
        {
            _display.Problem(child.Name, line);
        }
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>
    /// Creates the training contract as this swarm's operator, with every setting (the nodes' registrations are checked
    /// against it): the quorum, merge and sync frequency the nodes run with, the timings `run-sl` is given, and the auditors.
    /// </summary>
    private async Task CreateContractAsync(ManagedSvidSource operatorIdentity, CancellationToken cancellationToken)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var ledger = new SwarmLearning.Network.Client.SnLedgerClient([new Uri($"https://127.0.0.1:{_ports["sn1"]}"), new Uri($"https://127.0.0.1:{_ports["sn2"]}")],
            operatorIdentity, key, "swarm.local/main"); // swarm up's trust domain
        await ledger.RegisterKeyAsync(cancellationToken);
        var outcome = await ledger.SubmitAsync(new CreateContract(Contract,
            new TrainingParameters(options.MinPeers, options.SyncFrequency, options.Merge, Auditors: options.Auditors),
            new ContractTimings(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60), ContractTimings.Default.MaxStaleness)), cancellationToken);
        if (!outcome.Accepted)
        {
            throw new SwarmException($"the ledger refused the contract: {outcome.Reason}");
        }
        console.MarkupLine($"contract          {Contract}: {(options.Auditors == 0 ? "verification off" : $"every merge recomputed by {options.Auditors} auditor(s)")}");
    }

    /// <summary>The live dashboard, as an operator of this swarm (spiffe://swarm.local/swci/dashboard, its SVID renewed), on a free local port.</summary>
    private async Task<(ManagedSvidSource Identity, SwarmLearning.Network.Dashboard.DashboardServer Server)> StartDashboardAsync(CancellationToken cancellationToken)
    {
        string token = await TokenAsync(Path.Combine(options.Home, "id"), "swci/dashboard", cancellationToken);
        var identity = await ManagedSvidSource.StartAsync($"127.0.0.1:{_ports["identity"]}", Path.Combine(options.Home, "dashboard", "identity"), JoinToken.Parse(token),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken: cancellationToken);
        var server = await Dashboard.DashboardCommand.StartAsync(identity,
            [$"127.0.0.1:{_ports["sn1"]}", $"127.0.0.1:{_ports["sn2"]}", $"127.0.0.1:{_ports["sn3"]}"], $"127.0.0.1:{_ports["apls"]}", 0,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cancellationToken);
        console.MarkupLine($"dashboard         [link]{Markup.Escape(server.Url)}[/]");
        return (identity, server);
    }

    private async Task<LedgerSummary> LedgerSummaryAsync(CancellationToken cancellationToken)
    {
        var folder = new SvidFolder(Path.Combine(options.Home, "node1", "identity"));
        var svid = new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath);
        using var http = new HttpClient(MutualTls.Handler(svid, PeerPolicy.Under(svid, "sn")));
        var contract = (await http.GetFromJsonAsync<ContractState>(new Uri($"https://127.0.0.1:{_ports["sn1"]}/v1/contracts/{Contract}"), LedgerJson.Options, cancellationToken))!;
        var health = await http.GetFromJsonAsync<JsonElement>(new Uri($"https://127.0.0.1:{_ports["sn1"]}/v1/health"), cancellationToken);
        int height = health.TryGetProperty("height", out var h) ? h.GetInt32() : 0;
        return new LedgerSummary(Contract, contract.Status.ToString(), height,
            [.. contract.History.Select(m => new MergeEntry(m.Round, m.Leader, m.Hash.Hex, m.Contributions.Count))], contract.FinalModel.IsNone ? null : contract.FinalModel.Hex, false, "");
    }

    private bool Verify(out string message)
    {
        var report = ChainVerifier.Verify(Path.Combine(options.Home, "sn1", "chain", "blocks.jsonl"));
        message = report.Ok ? $"ok: {report.Blocks} blocks, {report.Transactions} transactions, head {report.HeadHash?[..12]}" : "BAD: " + report.FirstFault!.Message;
        return report.Ok;
    }

    /// <summary>Each node's share trained alone and all of them pooled, with the nodes' recipe (as `swarm simulate` does).</summary>
    private async Task<(ImageSet[] Shares, List<double> Alone, double Central)> BaselinesAsync(CancellationToken cancellationToken)
    {
        var (train, test) = FashionMnist.Load();
        var testSet = options.TestImages > 0 ? test.Take(options.TestImages) : test;
        var validation = test.Take(ValidationImages);
        var shares = Partitioner.Shares(train, options.Nodes, options.Partition, options.Seed, options.ImagesPerNode);
        var alone = await Baselines.AloneAsync("cnn", shares, validation, testSet, options.Seed, options.Recipe, options.Epochs, cancellationToken);
        var pooled = new ImageSet([.. shares.SelectMany(s => s.Pixels)], [.. shares.SelectMany(s => s.Labels)]);
        double central = await Baselines.PooledAsync("cnn", pooled, validation, testSet, options.Seed, options.Recipe, options.Epochs, cancellationToken);
        return (shares, alone, central);
    }

    private void Print(UpReport report, List<double> alone, double central)
    {
        var table = new Table().AddColumns("model", "test accuracy");
        table.AddRow("[bold]swarm (mean)[/]", $"[bold]{report.Accuracy.Swarms[0].Accuracy:P2}[/]");
        for (int i = 0; i < alone.Count; i++)
        {
            table.AddRow($"node{i + 1} alone", $"{alone[i]:P2}");
        }
        table.AddRow("nodes alone (mean)", $"{alone.Average():P2}");
        table.AddRow("central (pooled data)", $"{central:P2}");
        console.Write(table);
        var ledger = report.Ledger;
        console.MarkupLine($"[bold]ledger[/]: contract '{ledger.Contract}' {ledger.Status}, {ledger.Merges.Count} merges at height {ledger.Height}; leaders " +
            string.Join(", ", ledger.Merges.GroupBy(m => m.Leader).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} x{g.Count()}")));
        foreach (var merge in ledger.Merges.TakeLast(3))
        {
            console.MarkupLine($"  round {merge.Round}: {merge.Model[..12]} by {merge.Leader} ({merge.Contributions} contributions)");
        }
        console.MarkupLine($"  final model {ledger.FinalModel?[..12]}, the same on every node: {report.Accuracy.Swarms[0].SameFinalModelEverywhere}");
        console.MarkupLine($"  swarm ledger verify: {(ledger.ChainVerifies ? "[green]" : "[red]")}{Markup.Escape(ledger.VerifyMessage)}[/]");
    }

    private JsonElement Result(string node) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(options.Home, node, "model", "result.json"))).RootElement;

    private async Task<string> TokenAsync(string identityData, string path, CancellationToken cancellationToken)
    {
        var output = new List<string>();
        var child = ChildProcess.Start("token", Path.Combine(Logs, "tokens.log"), (_, line) => { lock (output) { output.Add(line); } }, null,
            "identity", "token", "create", "--data-dir", identityData, "--spiffe-id", $"spiffe://swarm.local/{path}");
        await child.WaitForExitAsync(cancellationToken);
        await child.DisposeAsync();
        lock (output)
        {
            return output.FirstOrDefault(l => l.StartsWith("sjt.", StringComparison.Ordinal)) ?? throw new SwarmException($"could not create a join token for {path}; see {Logs}/tokens.log");
        }
    }

    /// <summary>How long Ctrl-C may take before what is left is killed.</summary>
    public static TimeSpan StopDeadline { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Kills every component still running, with its children; returns their names (for the message).</summary>
    public string KillAll()
    {
        var left = _children.ToList();
        foreach (var child in left)
        {
            child.Kill();
        }
        return left.Count == 0 ? "nothing (no component was left)" : string.Join(", ", left.Select(c => c.Name));
    }

    private async Task StopAllAsync()
    {
        // SLs first, then the SNs, then the licence and identity servers: each returns its seat and closes its files. The
        // components of one kind stop together, so a slow one (a long-poll it waits out) does not hold up its peers.
        foreach (var kind in Enumerable.Reverse(_children).ToList().GroupBy(c => c.Name.TrimEnd("0123456789".ToCharArray())))
        {
            await Task.WhenAll(kind.Select(child => child.DisposeAsync().AsTask()));
            foreach (var child in kind)
            {
                _children.Remove(child);
            }
        }
    }

    private async Task<string> BuildExampleAsync(string repository, CancellationToken cancellationToken)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string project = Path.Combine(repository, "examples", "fashion-mnist");
        console.MarkupLine($"building examples/fashion-mnist ({configuration})");
        using var build = Process.Start(new ProcessStartInfo("dotnet", $"build \"{project}\" -c {configuration} -v quiet -nologo --disable-build-servers") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = await build.StandardOutput.ReadToEndAsync(cancellationToken);
        await build.WaitForExitAsync(cancellationToken);
        if (build.ExitCode != 0)
        {
            throw new SwarmException($"building {project} failed:\n{output}");
        }
        return Path.Combine(project, "bin", configuration, "net10.0", "fashion-mnist.dll");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Swarm.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new SwarmException("swarm up runs from a clone of the repository (it builds examples/fashion-mnist) or from a release, where fashion-mnist sits beside swarm: use ./swarm up in a clone, or bin/swarm up in an unpacked release");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"\[ml\] epoch (\d+)/\d+: round (\d+), validation loss [\d.]+, accuracy ([\d.]+ %)")]
    private static partial Regex EpochLine();

    [GeneratedRegex(@"loaded the merged model of round (\d+)")]
    private static partial Regex SyncedLine();

    [GeneratedRegex(@"validation after (\d+) epochs: loss [^,]+, metric ([\d.]+)")]
    private static partial Regex ValidationLine();

    [GeneratedRegex(@"training over: final swarm model of round (\d+)")]
    private static partial Regex FinalLine();

    [GeneratedRegex(@"(\w+): published merged model (\w+) of round (\d+) \((.*)\)")]
    private static partial Regex MergeLine();
}
