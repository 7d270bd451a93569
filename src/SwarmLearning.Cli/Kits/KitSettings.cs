using System.CommandLine;
using System.Globalization;
using SwarmLearning.Core;
using SwarmLearning.Identity.Server;
using SwarmLearning.Licensing.Server;
using SwarmLearning.Network;
using SwarmLearning.Node;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Cli.Kits;

/// <summary>
/// Each component's settings in its site's kit: what the kit decides (name, address, ports, who to join, identity
/// material), then what the operator added in the project file, checked against the `swarm run-*` command's options.
/// Ports are the seed's defaults; a second component of a kind on one site gets the next free one.
/// </summary>
internal sealed class KitSettings
{
    /// <summary>Settings the kit derives from the project; the project file may not set them.</summary>
    private static readonly HashSet<string> Managed =
        ["name", "data-dir", "host", "trust-domain", "identity-server", "join-token", "join-token-file", "apls", "sentinel", "sentinel-ip", "sentinel-api-port", "sn-ip", "sn-api-port",
         "cert", "key", "capath", "foreground", "config", "trusted-issuer"];

    private static readonly Dictionary<ComponentKind, (string Key, int Default)[]> PortsOf = new()
    {
        [ComponentKind.IdentityServer] = [("port", IdentityServerOptions.DefaultPort)],
        [ComponentKind.Apls] = [("port", AplsOptions.DefaultPort)],
        [ComponentKind.Sn] = [("ledger-port", SnOptions.DefaultLedgerPort), ("api-port", SnOptions.DefaultApiPort), ("sn-fs-port", SnOptions.DefaultFilePort)],
        [ComponentKind.Sl] = [("sl-fs-port", SlOptions.DefaultFilePort)],
    };

    private readonly SwarmProject _project;
    private readonly Dictionary<KitComponent, Dictionary<string, int>> _ports = [];

    public KitSettings(SwarmProject project)
    {
        _project = project;
        foreach (var site in project.Sites)
        {
            AllocatePorts(site);
        }
        foreach (var (_, component) in project.All)
        {
            CheckOwnSettings(component);
        }
    }

    public int Port(KitComponent component, string key) => _ports[component][key];

    public string IdentityServer => Address(ComponentKind.IdentityServer, "port");

    public string? Apls => _project.All.Any(x => x.Component.Kind == ComponentKind.Apls) ? Address(ComponentKind.Apls, "port") : null;

    /// <summary>The settings file of <paramref name="component"/> on <paramref name="site"/> (paths relative to the site's folder).</summary>
    public Dictionary<string, object> For(KitSite site, KitComponent component)
    {
        string host = site.Address.ToString();
        var settings = new Dictionary<string, object>();
        switch (component.Kind)
        {
            case ComponentKind.IdentityServer:
                settings["data-dir"] = "identity";
                settings["trust-domain"] = _project.TrustDomain;
                break;
            case ComponentKind.Apls:
                settings["data-dir"] = "apls";
                break;
            case ComponentKind.Sn:
                settings["name"] = component.Name;
                settings["data-dir"] = component.Id;
                var sentinel = _project.Sentinel;
                if (sentinel.Component == component)
                {
                    settings["sentinel"] = true;
                }
                else
                {
                    settings["sentinel-ip"] = sentinel.Site.Address.ToString();
                    settings["sentinel-api-port"] = Port(sentinel.Component, "api-port");
                }
                break;
            case ComponentKind.Sl:
                settings["name"] = component.Name;
                settings["data-dir"] = component.Id;
                var sns = SnsFor(site, component);
                settings["sn-ip"] = sns[0].Site.Address.ToString();
                settings["sn-api-port"] = Port(sns[0].Component, "api-port");
                if (sns.Count > 1)
                {
                    settings["sn"] = sns.Skip(1).Select(s => $"{s.Site.Address}:{Port(s.Component, "api-port")}").ToList();
                }
                break;
        }
        settings["host"] = host;
        foreach (var (key, port) in _ports[component])
        {
            settings[key] = port;
        }
        if (component.Kind != ComponentKind.IdentityServer)
        {
            settings["identity-server"] = IdentityServer;
            settings["join-token-file"] = Path.Combine("secrets", component.Id + ".token");
        }
        if (component.Kind is ComponentKind.Sn or ComponentKind.Sl && Apls is { } apls)
        {
            settings["apls"] = new List<string> { apls };
        }
        foreach (var (key, value) in component.Settings)
        {
            if (!(component.Kind == ComponentKind.Sl && key == "sn") && !_ports[component].ContainsKey(key))
            {
                settings[key] = value switch
                {
                    YamlScalarNode scalar => scalar.Value ?? "",
                    YamlSequenceNode list when list.Children.All(c => c is YamlScalarNode) => list.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToList(),
                    _ => throw new SwarmException($"{component.Where}: '{key}' of {component.Id} takes a value or a list of values"),
                };
            }
        }
        return settings;
    }

    /// <summary>The SNs an SL node uses, in order: the one named in the project, else one on its own site, else the sentinel; then the others to fail over to.</summary>
    public List<(KitSite Site, KitComponent Component)> SnsFor(KitSite site, KitComponent node)
    {
        var sns = _project.All.Where(x => x.Component.Kind == ComponentKind.Sn).ToList();
        var preferred = node.Settings.TryGetValue("sn", out var chosen)
            ? sns.FirstOrDefault(s => s.Component.Name == chosen.ToString())
            : sns.FirstOrDefault(s => s.Site == site);
        if (preferred.Component is null && chosen is not null)
        {
            throw new SwarmException($"{node.Where}: SL {node.Name} names SN '{chosen}', which no site runs (SNs: {string.Join(", ", sns.Select(s => s.Component.Name))})");
        }
        preferred = preferred.Component is null ? sns[0] : preferred;
        return [preferred, .. sns.Where(s => s != preferred)];
    }

    private string Address(ComponentKind kind, string portKey)
    {
        var (site, component) = _project.All.First(x => x.Component.Kind == kind);
        return $"{site.Address}:{Port(component, portKey)}";
    }

    private void AllocatePorts(KitSite site)
    {
        var taken = new Dictionary<int, string>();
        void Take(int port, KitComponent component, string key)
        {
            if (taken.TryGetValue(port, out var other))
            {
                throw new SwarmException($"{component.Where}: port {port} ({component.Id} {key}) is also {other} on site {site.Name}");
            }
            taken[port] = $"{component.Id} {key}";
            _ports[component][key] = port;
        }
        foreach (var component in site.Components)
        {
            _ports[component] = [];
            foreach (var (key, _) in PortsOf[component.Kind])
            {
                if (component.Settings.TryGetValue(key, out var given))
                {
                    Take(int.TryParse(given.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536 ? port
                        : throw new SwarmException($"{component.Where}: {key} '{given}' is not a TCP port (1-65535)"), component, key);
                }
            }
        }
        // The seed's defaults first, so the first component of each kind keeps them; later ones get the next free port.
        var wanted = site.Components.SelectMany(c => PortsOf[c.Kind].Where(p => !_ports[c].ContainsKey(p.Key)).Select(p => (Component: c, p.Key, p.Default))).ToList();
        foreach (var (component, key, port) in wanted.Where(w => !taken.ContainsKey(w.Default)).DistinctBy(w => w.Default).ToList())
        {
            Take(port, component, key);
            wanted.Remove((component, key, port));
        }
        foreach (var (component, key, port) in wanted)
        {
            int next = port + 1;
            while (taken.ContainsKey(next))
            {
                next++;
            }
            Take(next, component, key);
        }
    }

    private static void CheckOwnSettings(KitComponent component)
    {
        var command = CommandFor(component.Kind);
        foreach (var key in component.Settings.Keys)
        {
            if (component.Kind == ComponentKind.Sl && key == "sn" || PortsOf[component.Kind].Any(p => p.Key == key))
            {
                continue;
            }
            if (Managed.Contains(key))
            {
                throw new SwarmException($"{component.Where}: '{key}' of {component.Id} is set by the kit (from the site's address and the project); leave it out");
            }
            if (!command.Options.Any(o => o.Name == "--" + key))
            {
                throw new SwarmException($"{component.Where}: '{key}' is not a setting of `swarm {command.Name}`; see `swarm {command.Name} --help`");
            }
        }
    }

    public static Command CommandFor(ComponentKind kind) => kind switch
    {
        ComponentKind.IdentityServer => Identity.IdentityCommands.RunServer(),
        ComponentKind.Apls => Licensing.LicenseCommands.RunServer(),
        ComponentKind.Sn => Network.SnCommand.Create(),
        _ => Node.SlCommand.Create(),
    };
}
