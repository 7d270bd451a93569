using System.Globalization;
using System.Text;
using SwarmLearning.Core;
using SwarmLearning.Identity;
using SwarmLearning.Identity.Authority;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Licensing.Licenses;
using SwarmLearning.Licensing.Server;
using YamlDotNet.Serialization;

namespace SwarmLearning.Cli.Kits;

/// <summary>
/// Writes one folder per site (docs/deploy.md): a settings file per component, its join token (owner-only), the
/// identity server's CA and the licence server's installed licence where they run, and start/stop scripts; plus an
/// operator folder with the licence issuer's key and a token for `swarm swci`. Everything is written under a
/// temporary name and renamed at the end, so a failure leaves nothing half-made.
/// </summary>
internal sealed class KitWriter(SwarmProject project, string projectPath)
{
    private readonly KitSettings _settings = new(project);
    private readonly ISerializer _yaml = new SerializerBuilder().Build();

    /// <summary>The project file's name as it appears in generated scripts: printable characters only, never a line break.</summary>
    private string ProjectName => new([.. Path.GetFileName(projectPath).Where(c => !char.IsControl(c))]);

    /// <summary>Writes the kits into <paramref name="output"/>, which must not exist yet; returns what was written, one line per site.</summary>
    public IReadOnlyList<string> Write(string output)
    {
        output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(output));
        if (Directory.Exists(output) || File.Exists(output))
        {
            throw new SwarmException($"{output} already exists: remove it, or choose another folder with --out (kits hold one-time tokens: never mix two generations)");
        }
        string partial = output + ".partial-" + Guid.NewGuid().ToString("N")[..6];
        try
        {
            OwnerOnlyFile.CreateDirectory(partial);
            var lines = WriteAll(partial);
            Directory.Move(partial, output);
            return lines;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Remove(partial);
            throw new SwarmException($"cannot write the kits to {output}: {e.Message}");
        }
        catch
        {
            Remove(partial);
            throw;
        }
    }

    private List<string> WriteAll(string root)
    {
        foreach (var site in project.Sites)
        {
            Folder(root, site.Name); // owner-only before anything is written into it
        }
        var (identitySite, _) = project.All.First(x => x.Component.Kind == ComponentKind.IdentityServer);
        using var authority = new IdentityAuthority(Folder(root, identitySite.Name, "identity"), project.TrustDomain, TimeSpan.FromHours(1), TimeProvider.System);
        var domain = SpiffeId.ForTrustDomain(project.TrustDomain);
        string Token(SpiffeId id) => authority.CreateJoinToken(id, project.TokenTtl).ToString();

        string operatorFolder = Folder(root, SwarmProject.OperatorFolder);
        var lines = new List<string>();
        foreach (var site in project.Sites)
        {
            string folder = Folder(root, site.Name);
            foreach (var component in site.Components)
            {
                var settings = _settings.For(site, component);
                string file = Path.Combine(folder, component.Id + ".yaml");
                File.WriteAllText(file, $"# {component.Id} on site {site.Name}: `swarm {component.Command} --config {component.Id}.yaml` (flags on the command line win)\n" + _yaml.Serialize(settings));
                CheckAsRead(component, file);
                var identity = component.Kind switch
                {
                    ComponentKind.Apls => domain.InDomain(SwarmIdentities.LicenceServer),
                    ComponentKind.Sn => SwarmIdentities.SnNode(project.TrustDomain, component.Name),
                    ComponentKind.Sl => SwarmIdentities.SlNode(project.TrustDomain, component.Name),
                    _ => null,
                };
                if (identity is not null)
                {
                    OwnerOnlyFile.WriteText(Path.Combine(Folder(folder, "secrets"), component.Id + ".token"), Token(identity) + "\n");
                }
                if (component.Kind == ComponentKind.Apls)
                {
                    InstallLicence(Folder(folder, "apls"), operatorFolder);
                }
            }
            WriteScript(Path.Combine(folder, "start.sh"), StartScript(site));
            WriteScript(Path.Combine(folder, "stop.sh"), StopScript(site));
            File.WriteAllText(Path.Combine(folder, "README.txt"), SiteReadme(site));
            lines.Add($"{site.Name,-12} {site.Address,-15} {string.Join(", ", site.Components.Select(Describe))}");
        }
        OwnerOnlyFile.WriteText(Path.Combine(Folder(operatorFolder, "secrets"), "swci.token"), Token(domain.InDomain(SwarmIdentities.CommandInterface, "operator")) + "\n");
        WriteScript(Path.Combine(operatorFolder, "swci-context.sh"), SwciScript());
        return lines;
    }

    /// <summary>Reads a settings file back exactly as its command will on the site, so a bad value fails here, not there.</summary>
    private static void CheckAsRead(KitComponent component, string file)
    {
        var command = KitSettings.CommandFor(component.Kind);
        var root = new System.CommandLine.RootCommand { command };
        System.CommandLine.ParseResult parse;
        try
        {
            parse = root.Parse(ConfigFile.Apply(root, [command.Name, "--config", file]));
        }
        catch (SwarmException e)
        {
            throw new SwarmException($"{component.Where}: a setting of {component.Id} is not valid: {e.Message.Replace(file + " ", "", StringComparison.Ordinal)}");
        }
        if (parse.Errors.Count > 0)
        {
            throw new SwarmException($"{component.Where}: {component.Id}'s settings would not start it: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }
    }

    private string Describe(KitComponent component) => component.Kind switch
    {
        ComponentKind.IdentityServer => $"identity server :{_settings.Port(component, "port")}",
        ComponentKind.Apls => $"licence server :{_settings.Port(component, "port")}",
        ComponentKind.Sn => $"SN {component.Name}{(project.Sentinel.Component == component ? " (sentinel)" : "")} API :{_settings.Port(component, "api-port")}",
        _ => $"SL {component.Name} :{_settings.Port(component, "sl-fs-port")}",
    };

    private void InstallLicence(string data, string operatorFolder)
    {
        string issuerKey = Path.Combine(operatorFolder, "issuer.key");
        using var key = IssuerKeys.OpenOrCreateSigningKey(issuerKey);
        string issuers = Folder(data, "issuers");
        File.Copy(Path.ChangeExtension(issuerKey, ".pub"), Path.Combine(issuers, "issuer.pub"));
        int seats = project.Licence.Seats ?? project.All.Count(x => x.Component.Kind is ComponentKind.Sn or ComponentKind.Sl);
        var terms = LicenseTerms.ForDays(project.Licence.Licensee, ["swarm-learning"], seats, project.Licence.Days, DateTimeOffset.UtcNow);
        string licence = Path.Combine(operatorFolder, "licence.lic");
        File.WriteAllText(licence, LicenseFile.Issue(terms, key).ToJson());
        new SeatBook(data, IssuerKeys.Load(issuers), TimeSpan.FromMinutes(1), TimeProvider.System).Install(File.ReadAllText(licence), licence);
    }

    private string StartScript(KitSite site)
    {
        var text = new StringBuilder(Header(site, "Starts"));
        foreach (var component in site.Components)
        {
            text.Append(CultureInfo.InvariantCulture, $"$SWARM {component.Command} --config {component.Id}.yaml\n");
        }
        return text.Append("$SWARM ps\n").ToString();
    }

    private string StopScript(KitSite site)
    {
        var text = new StringBuilder(Header(site, "Stops")).Append("status=0\n");
        foreach (var component in site.Components.Reverse())
        {
            text.Append(CultureInfo.InvariantCulture, $"$SWARM stop {component.Id} || status=$?\n");
        }
        return text.Append("exit $status\n").ToString();
    }

    private string Header(KitSite site, string verb) =>
        $"""
        #!/bin/sh
        # {verb} site {site.Name} ({site.Address}) of the swarm in {ProjectName}: {string.Join(", ", site.Components.Select(c => c.Id))}.
        # Written by `swarm kit create`. SWARM is how to run swarm (default: swarm on PATH, e.g. a release's bin/swarm).
        set -eu
        cd "$(dirname "$0")"
        SWARM=${"{"}SWARM:-swarm{"}"}
        export SWARM_HOME="$PWD/home"
        command -v ${"{"}SWARM%% *{"}"} >/dev/null 2>&1 || {"{"} echo "error: cannot run '$SWARM': put a release's bin/ on PATH, or set SWARM=/path/to/bin/swarm" >&2; exit 2; {"}"}

        """;

    private string SiteReadme(KitSite site)
    {
        var order = project.Sites.OrderBy(s => s.Components.Any(c => c.Kind == ComponentKind.IdentityServer) ? 0 : s == project.Sentinel.Site ? 1 : 2).Select(s => s.Name);
        var ports = site.Components.SelectMany(c => _settings.For(site, c).Where(kv => kv.Key.EndsWith("port", StringComparison.Ordinal) && kv.Key != "sentinel-api-port" && kv.Key != "sn-api-port")
            .Select(kv => $"{kv.Value}/tcp ({c.Id} {kv.Key})"));
        return $"""
            Site {site.Name} of the swarm in {ProjectName}, for the host with address {site.Address}.

            Runs: {string.Join(", ", site.Components.Select(Describe))}.
            Open these ports to the other sites: {string.Join(", ", ports)}.

            Copy this whole folder to the host (it holds one-time join tokens under secrets/: keep it owner-only),
            then run ./start.sh there; ./stop.sh stops it. In this folder, `SWARM_HOME=$PWD/home swarm ps` lists the
            components and `SWARM_HOME=$PWD/home swarm logs NAME -f` follows one. Start the sites in this order: {string.Join(", ", order)}.
            Each component's settings are in its .yaml file; a flag given on the command line wins over the file.

            """;
    }

    private string SwciScript()
    {
        var sns = project.All.Where(x => x.Component.Kind == ComponentKind.Sn).Select(x => $"--sn {x.Site.Address}:{_settings.Port(x.Component, "api-port")}");
        return $"""
            #!/bin/sh
            # Creates the operator's `swarm swci` context (spiffe://{project.TrustDomain}/swci/operator) once the SNs run.
            set -eu
            cd "$(dirname "$0")"
            SWARM=${"{"}SWARM:-swarm{"}"}
            $SWARM swci context create operator {string.Join(' ', sns)} --identity-server {_settings.IdentityServer} --join-token-file secrets/swci.token

            """;
    }

    private static void Remove(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string Folder(params string[] parts)
    {
        string path = Path.Combine(parts);
        OwnerOnlyFile.CreateDirectory(path);
        return path;
    }
}
