using SwarmLearning.Testing;

namespace SwarmLearning.Network.Tests;

/// <summary>
/// A program written for HPE Swarm Learning (examples/hpe-style-pytorch: swarmlearning.pyt, camelCase parameters,
/// adsValData, lossFunction/metricFunction, DATA_DIR and friends) runs unchanged on two `swarm run-sl` nodes, with the
/// swarmlearning package pip-installed into a fresh virtual environment: no PYTHONPATH, no SWARM_PROTO.
/// </summary>
public sealed class HpeProgramTests(HpeProgramTests.InstalledPackage package) : IClassFixture<HpeProgramTests.InstalledPackage>
{
    private static readonly string Example = Path.Combine(SwarmProcess.RepositoryRoot, "examples", "hpe-style-pytorch");

    [Fact]
    public void The_installed_package_imports_from_outside_the_repository_with_its_own_proto()
    {
        var (code, output) = package.Python(Path.GetTempPath(), "-c",
            "import swarmlearning, swarmlearning.pyt as pyt; from swarmlearning import _proto; pb, _ = _proto.load(); " +
            "print(swarmlearning.__file__); print(_proto._proto_file()); print(pyt.DEFAULT_TRAINING_CONTRACT)");
        Assert.True(code == 0, output);
        string installed = Path.Combine(package.Venv, "lib");
        Assert.All(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(2), path => Assert.StartsWith(installed, path, StringComparison.Ordinal));
        Assert.Contains("defaultbb.cqdb.sml.hpe", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_hpe_style_program_runs_unchanged_on_two_nodes_and_both_end_on_the_same_model()
    {
        await using var swarm = await LoopbackSwarm.StartAsync();
        string data = Path.Combine(swarm.Root, "data");
        for (int site = 1; site <= 2; site++)
        {
            var (code, output) = package.Python(Example, "prepare_data.py", "--out", Path.Combine(data, $"site{site}"), "--site", $"{site}", "--sites", "2", "--train-per-site", "2000", "--test", "1000");
            Assert.True(code == 0, output);
        }
        string program = $"{package.Interpreter} model/fmnist_pyt.py";
        string[] Settings(int site) => ["--ml-dir", Example, "--ml-e", "MAX_EPOCHS=2", "--ml-e", "MIN_PEERS=2", "--ml-e", "SYNC_FREQUENCY=16",
            .. site == 1 ? new[] { "--ml-data-dir", Path.Combine(data, "site1") } : ["--ml-e", $"DATA_DIR={Path.Combine(data, "site2")}"]];
        var nodes = new[]
        {
            await swarm.StartSl("hpe1", program, more: Settings(1)),
            await swarm.StartSl("hpe2", program, more: Settings(2)),
        };

        var finals = await Task.WhenAll(nodes.Select(n => n.WaitForAsync(@"the ML program finished; final swarm model (\w+)", TimeSpan.FromMinutes(5))));
        var contract = await swarm.ContractAsync("hpe1", "defaultbb.cqdb.sml.hpe");
        Assert.All(finals, final => Assert.Equal(contract.FinalModel.Hex, final.Groups[1].Value));
        Assert.True(contract.History.Count >= 3, $"{contract.History.Count} merges");
        foreach (var (node, name) in nodes.Zip(new[] { "hpe1", "hpe2" }))
        {
            Assert.Contains("Saved the trained model!", node.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(swarm.Root, name, "scratch", "fmnist_pyt", "saved_model.pt")), "the model saved under SCRATCH_DIR");
            Assert.Matches(@"validation after \d+ epochs: loss \d", node.Output); // adsValData's loss reached the node
            Assert.InRange(System.Text.RegularExpressions.Regex.Count(node.Output, "needs torchmetrics"), 0, 1); // without torchmetrics (Debian): said once, nothing failed
        }
    }

    /// <summary>A fresh virtual environment (with Debian's torch, grpc and numpy) and `pip install ./python` in it, offline.</summary>
    public sealed class InstalledPackage : IDisposable
    {
        private readonly string _folder = Path.Combine(Path.GetTempPath(), "swarm-venv-" + Guid.NewGuid().ToString("N")[..8]);

        public InstalledPackage()
        {
            Venv = Path.Combine(_folder, "venv");
            var (code, output) = ProgramRun.Run(TimeSpan.FromMinutes(2), null, "/usr/bin/python3", "-m", "venv", "--system-site-packages", Venv);
            Assert.True(code == 0, "python3 -m venv (Debian: python3-venv): " + output);
            // PIP_NO_INDEX: nothing may come from PyPI; the copy keeps the build's leftovers out of the repository.
            string source = Path.Combine(_folder, "source");
            CopyFolder(Path.Combine(SwarmProcess.RepositoryRoot, "python"), Path.Combine(source, "python"));
            CopyFolder(Path.Combine(SwarmProcess.RepositoryRoot, "proto"), Path.Combine(source, "proto"));
            File.Copy(Path.Combine(SwarmProcess.RepositoryRoot, "VERSION"), Path.Combine(source, "VERSION"));
            (code, output) = ProgramRun.RunIn(source, TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["PIP_NO_INDEX"] = "1" },
                Path.Combine(Venv, "bin", "pip"), "install", "./python");
            Assert.True(code == 0, "pip install ./python: " + output);
        }

        public string Venv { get; }

        public string Interpreter => Path.Combine(Venv, "bin", "python");

        /// <summary>Runs the venv's python in <paramref name="folder"/> with no PYTHONPATH or SWARM_PROTO.</summary>
        public (int ExitCode, string Output) Python(string folder, params string[] arguments) =>
            ProgramRun.RunIn(folder, TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["PYTHONPATH"] = "", ["SWARM_PROTO"] = "" }, Interpreter, arguments);

        private static void CopyFolder(string from, string to)
        {
            foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                string relative = Path.GetRelativePath(from, file);
                if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "build" or "__pycache__" || part.EndsWith(".egg-info", StringComparison.Ordinal)))
                {
                    continue;
                }
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
                File.Copy(file, Path.Combine(to, relative));
            }
        }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}
