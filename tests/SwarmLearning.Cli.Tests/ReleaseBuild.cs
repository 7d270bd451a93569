using SwarmLearning.Testing;

namespace SwarmLearning.Cli.Tests;

/// <summary>
/// The release tarball exactly as users get it: built once per test run by deploy/pack.sh (self-contained single-file
/// binaries) and unpacked into a temporary folder, for the tests that run it. Built on first use only.
/// </summary>
public sealed class ReleaseBuild : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("swarm-release-").FullName;
    private readonly Lazy<string> _root;

    public ReleaseBuild() => _root = new Lazy<string>(Build);

    /// <summary>The unpacked release: bin/swarm, bin/fashion-mnist, python/, examples/ ...</summary>
    public string Root => _root.Value;

    public string Swarm => Path.Combine(Root, "bin", "swarm");

    private string Build()
    {
        var (code, output) = ProgramRun.Run(TimeSpan.FromMinutes(15), null, Path.Combine(SwarmProcess.RepositoryRoot, "deploy", "pack.sh"), Path.Combine(_folder, "dist"));
        Assert.True(code == 0, "deploy/pack.sh failed:\n" + output);
        string? tarball = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.EndsWith(".tar.gz", StringComparison.Ordinal));
        Assert.True(tarball is not null && File.Exists(tarball), $"deploy/pack.sh did not print a tarball's path:\n{output}");
        Assert.Matches(@"swarm-\d+\.\d+\.\d+-linux-x64\.tar\.gz$", tarball);
        var (untar, untarOutput) = ProgramRun.Run(TimeSpan.FromMinutes(2), null, "tar", "-C", _folder, "-xzf", tarball);
        Assert.True(untar == 0, untarOutput);
        File.Delete(tarball);
        return Directory.GetDirectories(_folder, "swarm-*-linux-x64").Single();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
