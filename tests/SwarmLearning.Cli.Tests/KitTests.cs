using System.CommandLine;
using System.Text.Json;
using SwarmLearning.Cli.Kits;
using SwarmLearning.Core;

namespace SwarmLearning.Cli.Tests;

/// <summary>swarm kit create: a folder per site whose settings files are valid `swarm run-*` command lines.</summary>
public sealed class KitTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kits-").FullName;

    private const string Project = """
        licence: { licensee: Test lab }
        sites:
          - name: a
            address: 10.9.0.1
            identity-server: true
            apls: { lease: 30s }
            sl:
              - { name: node1, ml-cmd: python3 train.py }
          - name: b
            address: 10.9.0.2
            sn: [ { name: sn1 } ]
            sl:
              - { name: node2, ml-cmd: ./train, no-lead: true }
              - { name: node3, ml-cmd: ./train, sn: sn2 }
          - name: c
            address: 10.9.0.3
            sn: [ { name: sn2, api-port: 31304 } ]
        """;

    [Fact]
    public void Each_site_gets_settings_tokens_and_scripts_that_make_valid_command_lines()
    {
        string kits = Create(Project);

        Assert.Equal(["a", "b", "c", "operator"], Directory.GetDirectories(kits).Select(Path.GetFileName).Order());
        var node2 = Parse(kits, "b", "sl-node2");
        Assert.Equal("node2", node2.GetValue<string>("--name"));
        Assert.Equal("10.9.0.2", node2.GetValue<string>("--host"));
        Assert.Equal(30305, node2.GetValue<int>("--sl-fs-port"));
        Assert.Equal("10.9.0.2", node2.GetValue<string>("--sn-ip")); // the SN on its own site first
        Assert.Equal(["10.9.0.3:31304"], node2.GetValue<string[]>("--sn")!); // then the others, to fail over to
        Assert.True(node2.GetValue<bool>("--no-lead"));
        Assert.Equal(["10.9.0.1:5814"], node2.GetValue<string[]>("--apls")!);
        Assert.Equal("10.9.0.1:8081", node2.GetValue<string>("--identity-server"));

        var node3 = Parse(kits, "b", "sl-node3");
        Assert.Equal(30307, node3.GetValue<int>("--sl-fs-port")); // a second SL on the site: the next free port (sn1's file server has 30306)
        Assert.Equal("10.9.0.3", node3.GetValue<string>("--sn-ip")); // the SN it named
        Assert.Equal(31304, node3.GetValue<int>("--sn-api-port"));

        Assert.True(Parse(kits, "b", "sn-sn1").GetValue<bool>("--sentinel"));
        var sn2 = Parse(kits, "c", "sn-sn2");
        Assert.Equal("10.9.0.2", sn2.GetValue<string?>("--sentinel-ip"));
        Assert.Equal(30303, sn2.GetValue<int>("--ledger-port"));
        Assert.Equal("30s", Parse(kits, "a", "apls").GetValue<string>("--lease"));

        // One-time tokens, owner-only, registered with the identity server the kit prepared for site a.
        string token = Path.Combine(kits, "b", "secrets", "sl-node2.token");
        Assert.StartsWith("sjt.", File.ReadAllText(token), StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(token));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(kits, "b")));
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(kits, "a", "identity", "state.json")));
        var ids = state.RootElement.GetProperty("Tokens").EnumerateObject().Select(t => t.Value.GetProperty("SpiffeId").GetString()).Order().ToList();
        Assert.Equal(["spiffe://swarm.local/apls", "spiffe://swarm.local/sl/node1", "spiffe://swarm.local/sl/node2", "spiffe://swarm.local/sl/node3",
            "spiffe://swarm.local/sn/sn1", "spiffe://swarm.local/sn/sn2", "spiffe://swarm.local/swci/operator"], ids);
        Assert.False(File.Exists(Path.Combine(kits, "a", "identity", "admin.sock")));

        // The licence is installed where the licence server runs, with a seat for every SN and SL; the issuer key stays with the operator.
        string apls = Path.Combine(kits, "a", "apls");
        var book = new SwarmLearning.Licensing.Server.SeatBook(apls, SwarmLearning.Licensing.Licenses.IssuerKeys.Load(Path.Combine(apls, "issuers")), TimeSpan.FromMinutes(1), TimeProvider.System);
        var terms = Assert.Single(book.Licenses()).Terms!;
        Assert.Equal(5, terms.Seats);
        Assert.Equal("Test lab", terms.Licensee);
        Assert.True(File.Exists(Path.Combine(kits, "operator", "issuer.key")));
        Assert.Equal([Path.Combine(kits, "operator", "issuer.key")], Directory.GetFiles(kits, "issuer.key", SearchOption.AllDirectories));

        string start = File.ReadAllText(Path.Combine(kits, "b", "start.sh"));
        Assert.True(start.IndexOf("run-sn --config sn-sn1.yaml", StringComparison.Ordinal) < start.IndexOf("run-sl --config sl-node2.yaml", StringComparison.Ordinal));
        Assert.Contains("swci context create operator --sn 10.9.0.2:30304 --sn 10.9.0.3:31304", File.ReadAllText(Path.Combine(kits, "operator", "swci-context.sh")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, sn: [ {name: sn1} ] }\n", "exactly one site runs the identity server")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true }\n", "at least one SN")]
    [InlineData("sites:\n  - { name: a, address: somewhere, identity-server: true }\n", "line 2: site a: address 'somewhere' is not an IPv4 address")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true, sn: [ {name: sn1}, {name: sn1} ] }\n", "two SNs are named 'sn1'")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true, sn: [ {name: sn1, host: 1.2.3.4} ] }\n", "'host' of sn-sn1 is set by the kit")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true, sn: [ {name: sn1, colour: red} ] }\n", "'colour' is not a setting of `swarm run-sn`")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: { port: 9000 }, sn: [ {name: sn1, api-port: 9000} ] }\n", "port 9000 (sn-sn1 api-port) is also spire-server port on site a")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true, sn: [ {name: sn1} ], sl: [ {name: n1, sn: sn9} ] }\n", "SL n1 names SN 'sn9', which no site runs")]
    [InlineData("sities: []\n", "unknown key 'sities' here")]
    [InlineData("sites:\n  - { name: operator, address: 10.9.0.1, identity-server: true }\n", "and not 'operator'")]
    [InlineData("sites:\n  - { name: a, address: 10.1, identity-server: true }\n", "address '10.1' is not an IPv4 address in dotted form")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true, sn: [ {name: sn1} ], sl: [ {name: n1, no-lead: yes} ] }\n", "'no-lead' is true or false, not 'yes'")]
    [InlineData("sites:\n  - { name: a, address: 10.9.0.1, identity-server: true, sn: [ {name: sn1} ], sl: [ {name: n1, sn: [sn1]} ] }\n", "SL n1 names SN")]
    public void A_project_that_cannot_work_is_refused_before_anything_is_written(string project, string expected)
    {
        var error = Assert.Throws<SwarmException>(() => Create(project));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFileSystemEntries(_folder)); // only the project file: no kit, no partial folder
    }

    [Fact]
    public void An_output_folder_given_with_a_trailing_slash_is_written_whole()
    {
        string project = Path.Combine(_folder, "project.yaml");
        File.WriteAllText(project, Project);
        new KitWriter(SwarmProject.Load(project), project).Write(Path.Combine(_folder, "out") + "/");
        Assert.True(File.Exists(Path.Combine(_folder, "out", "b", "start.sh")));
        Assert.Equal(["out", "project.yaml"], Directory.GetFileSystemEntries(_folder).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void An_existing_output_folder_is_never_overwritten()
    {
        string kits = Create(Project);
        var error = Assert.Throws<SwarmException>(() => new KitWriter(SwarmProject.Load(Path.Combine(_folder, "project.yaml")), "project.yaml").Write(kits));
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
    }

    private string Create(string project)
    {
        string path = Path.Combine(_folder, "project.yaml");
        File.WriteAllText(path, project);
        string kits = Path.Combine(_folder, "kits");
        new KitWriter(SwarmProject.Load(path), path).Write(kits);
        return kits;
    }

    private static ParseResult Parse(string kits, string site, string component)
    {
        RootCommand root = [Node.SlCommand.Create(), Network.SnCommand.Create(), Licensing.LicenseCommands.RunServer(), Identity.IdentityCommands.RunServer()];
        string command = component switch
        {
            "apls" => "run-apls",
            _ when component.StartsWith("sn-", StringComparison.Ordinal) => "run-sn",
            _ => "run-sl",
        };
        var parse = root.Parse(ConfigFile.Apply(root, [command, "--config", Path.Combine(kits, site, component + ".yaml")]));
        Assert.Empty(parse.Errors);
        return parse;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
