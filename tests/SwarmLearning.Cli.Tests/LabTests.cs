using SwarmLearning.Testing;

namespace SwarmLearning.Cli.Tests;

/// <summary>
/// deploy/lab/lab.sh: hosts as network namespaces on a bridge, private addresses only inside them, capped links, a
/// link cut and restored, and nothing left after `down` or after a failing `run`. Needs root (CI runs as root).
/// </summary>
public sealed class LabTests(ReleaseBuild release) : IClassFixture<ReleaseBuild>, IDisposable
{
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..4]; // interface names stay under 15 characters

    /// <summary>The same small model in C# and in Python (tests/ml-programs), so both train in one swarm.</summary>
    private static string CSharpProgram => Path.Combine(SwarmProcess.RepositoryRoot, "tests", "ml-programs", "linear-torchsharp", "bin", SwarmProcess.Configuration, "net10.0", "linear-toy.dll");

    private static string PythonProgram => Path.Combine(SwarmProcess.RepositoryRoot, "tests", "ml-programs", "linear-pytorch", "train.py");

    private static bool CanRun => Environment.UserName == "root" && (File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip"));

    [Fact]
    public void Hosts_reach_each_other_only_through_the_bridge_with_capped_links_and_leave_nothing_behind()
    {
        if (!CanRun)
        {
            return; // namespaces need root: CI runs this as root
        }
        var (code, output) = Lab("up", "3", "--rate", "20mbit");
        Assert.True(code == 0, output);
        Assert.Contains("h3 10.77.0.13 (link capped at 20mbit)", output);

        var status = Lab("status").Output;
        Assert.Equal(3, status.Split('\n').Count(l => l.Contains("link up rate 20Mbit", StringComparison.Ordinal)));

        Assert.Equal("connected", Connect("h1", "10.77.0.13"));
        Assert.Contains("unreachable", Connect("h1", "8.8.8.8"), StringComparison.OrdinalIgnoreCase); // no route out of the lab

        Assert.Equal(0, Lab("link", "h3", "down").ExitCode);
        Assert.NotEqual("connected", Connect("h1", "10.77.0.13"));
        Assert.Equal(0, Lab("link", "h3", "up").ExitCode);
        Assert.Equal("connected", Connect("h1", "10.77.0.13"));

        Assert.Equal(0, Lab("down").ExitCode);
        Assert.Contains($"no lab with prefix '{_prefix}'", Lab("status").Output);
        Assert.DoesNotContain(_prefix, Run("ip", "-o", "link", "show").Output);
    }

    [Fact]
    public void A_failing_command_under_run_still_tears_the_lab_down()
    {
        if (!CanRun)
        {
            return;
        }
        var (code, output) = Lab("run", "2", "--", "bash", "-c", "echo \"$LAB_HOSTS\"; exit 7");
        Assert.Equal(7, code);
        Assert.Contains("h1=10.77.0.11 h2=10.77.0.12", output);
        Assert.Contains($"no lab with prefix '{_prefix}'", Lab("status").Output);
    }

    [Fact]
    public void Three_hosts_on_default_ports_train_to_one_swarm_model()
    {
        if (!CanRun)
        {
            return;
        }
        string work = Directory.CreateTempSubdirectory("lab-three-").FullName;
        try
        {
            var (code, output) = Lab("run", "3", "--", "env", $"SWARM=dotnet {SwarmProcess.SwarmDll}", $"WORK={work}",
                $"ML_CMD=dotnet {CSharpProgram} --epochs 3 --batches 10 --sync 5 --min-peers 2 --contract lab",
                Path.Combine(SwarmProcess.RepositoryRoot, "deploy", "lab", "three-hosts.sh"));
            Assert.True(code == 0, output);
            var finals = output.Split('\n').Where(l => l.Contains(" final swarm model ", StringComparison.Ordinal)).Select(l => l.Split(' ')[^1]).ToList();
            Assert.Equal(2, finals.Count);
            Assert.Single(finals.Distinct());
            Assert.Contains($"no lab with prefix '{_prefix}'", Lab("status").Output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void Five_hosts_from_site_kits_ride_out_a_cut_link_and_a_crashed_sn_host_and_end_on_one_model()
    {
        if (!CanRun)
        {
            return;
        }
        string work = Directory.CreateTempSubdirectory("lab-five-").FullName;
        try
        {
            const string Training = "--epochs 6 --batches 20 --sync 5 --min-peers 3 --contract lab5 --delay-ms 300";
            var (code, output) = Lab("run", "5", "--", "env", $"SWARM={release.Swarm}", $"WORK={work}",
                $"ML_CS=dotnet {CSharpProgram} {Training}", $"ML_PY=/usr/bin/python3 {PythonProgram} {Training}",
                Path.Combine(SwarmProcess.RepositoryRoot, "deploy", "lab", "five-hosts.sh"));
            Assert.True(code == 0, output);
            Assert.Contains("cutting h5's link", output);
            Assert.Contains("the ledger went on without sn3", output);
            var finals = output.Split('\n').Where(l => l.Contains(" final swarm model ", StringComparison.Ordinal)).Select(l => l.Split(' ')[^1]).ToList();
            Assert.Equal(5, finals.Count);
            Assert.Single(finals.Distinct());
            Assert.Matches(@"(?m)^ok: \d+ blocks", output); // swarm ledger verify of sn1's chain
            Assert.Contains($"no lab with prefix '{_prefix}'", Lab("status").Output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void The_release_runs_a_whole_swarm_on_a_machine_without_dotnet()
    {
        if (!CanRun)
        {
            return;
        }
        string home = Directory.CreateTempSubdirectory("release-up-").FullName;
        try
        {
            // A private mount namespace where the .NET installation is an empty folder: nothing of it can be found.
            string dotnetRoot = Path.GetDirectoryName(new FileInfo("/usr/bin/dotnet").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "/usr/share/dotnet/dotnet")!;
            string script = $"mount -t tmpfs none '{dotnetRoot}' && ! command -v dotnet && ! test -e '{dotnetRoot}/shared' && echo 'no dotnet here' && " +
                $"SWARM_HOME='{home}' '{release.Swarm}' up --nodes 2 --epochs 1 --images-per-node 300 --test-images 500";
            var (code, output) = ProgramRun.Run(TimeSpan.FromMinutes(10), null, "unshare", "--mount", "--propagation", "private", "sh", "-c", script);
            Assert.True(code == 0, output);
            Assert.Contains("no dotnet here", output);
            Assert.Contains("the same on every node: True", output);
            Assert.Contains("swarm ledger verify: ok", output);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>A TCP connection from a host to port 22 (nothing listens: a refusal still proves the path), with a 2 s timeout.</summary>
    private string Connect(string host, string address)
    {
        var (_, output) = Lab("exec", host, "/usr/bin/python3", "-c",
            "import socket, sys\ntry:\n socket.create_connection((sys.argv[1], 22), timeout=2); print('connected')\n" +
            "except ConnectionRefusedError: print('connected')\nexcept OSError as e: print(e)", address);
        return output.Trim();
    }

    private (int ExitCode, string Output) Lab(params string[] arguments) =>
        Run(Path.Combine(SwarmProcess.RepositoryRoot, "deploy", "lab", "lab.sh"), arguments);

    private (int ExitCode, string Output) Run(string file, params string[] arguments) =>
        ProgramRun.Run(TimeSpan.FromMinutes(15), new Dictionary<string, string> { ["LAB_PREFIX"] = _prefix }, file, arguments);

    public void Dispose() => Lab("down");
}
