using System.Net;
using System.Text.RegularExpressions;
using SwarmLearning.Core;
using YamlDotNet.RepresentationModel;

namespace SwarmLearning.Cli.Kits;

/// <summary>What a site runs.</summary>
internal enum ComponentKind
{
    IdentityServer,
    Apls,
    Sn,
    Sl,
}

/// <summary>One component of a site: its kind, its name (SNs and SLs), and the settings the operator gave for it.</summary>
internal sealed record KitComponent(ComponentKind Kind, string Name, IReadOnlyDictionary<string, YamlNode> Settings, string Where)
{
    /// <summary>Its name among background components and in the kit's files: spire-server, apls, sn-NAME, sl-NAME.</summary>
    public string Id => Kind switch
    {
        ComponentKind.IdentityServer => "spire-server",
        ComponentKind.Apls => "apls",
        ComponentKind.Sn => "sn-" + Name,
        _ => "sl-" + Name,
    };

    /// <summary>The `swarm` command that runs it.</summary>
    public string Command => Kind switch
    {
        ComponentKind.IdentityServer => "run-spire-server",
        ComponentKind.Apls => "run-apls",
        ComponentKind.Sn => "run-sn",
        _ => "run-sl",
    };
}

/// <summary>A host of the swarm: its name, the address the others reach it at, what it runs (in start order).</summary>
internal sealed record KitSite(string Name, IPAddress Address, IReadOnlyList<KitComponent> Components);

/// <summary>The licence the kit issues for the licence server.</summary>
internal sealed record KitLicence(string Licensee, int? Seats, int Days);

/// <summary>
/// A project file (docs/deploy.md): the sites of one swarm, their addresses and what each runs. The first SN listed
/// is the sentinel. Every check that can be made before anything is written is made here.
/// </summary>
internal sealed partial record SwarmProject(string TrustDomain, TimeSpan TokenTtl, KitLicence Licence, IReadOnlyList<KitSite> Sites)
{
    public IEnumerable<(KitSite Site, KitComponent Component)> All => Sites.SelectMany(s => s.Components.Select(c => (s, c)));

    public (KitSite Site, KitComponent Component) Sentinel => All.First(x => x.Component.Kind == ComponentKind.Sn);

    /// <summary>The kit folder that stays with the operator (issuer key, swci token): no site may have its name.</summary>
    public const string OperatorFolder = "operator";

    public static SwarmProject Load(string path)
    {
        if (YamlFile.Load(path, "project file") is not YamlMappingNode root)
        {
            throw new SwarmException($"{path}: a project file is a mapping with `sites:` (see docs/deploy.md)");
        }
        return Parse(new Reader(path), root);
    }

    private static SwarmProject Parse(Reader read, YamlMappingNode root)
    {
        read.Only(root, "trust-domain", "token-ttl", "licence", "sites");
        string trustDomain = read.Text(root, "trust-domain") ?? "swarm.local";
        var ttl = Duration.Parse(read.Text(root, "token-ttl") ?? "7d", "token-ttl");
        if (ttl <= TimeSpan.Zero || ttl > TimeSpan.FromDays(7))
        {
            throw new SwarmException($"{read.Path}: token-ttl must be between 1s and 7d (a kit's join tokens are used once, when its site first starts)");
        }
        var licence = new KitLicence("swarm", null, 365);
        if (root.Children.TryGetValue(new YamlScalarNode("licence"), out var licenceNode))
        {
            var map = read.Mapping(licenceNode, "licence");
            read.Only(map, "licensee", "seats", "days");
            licence = new KitLicence(read.Text(map, "licensee") ?? "swarm", read.Number(map, "seats"), read.Number(map, "days") ?? 365);
        }
        if (!root.Children.TryGetValue(new YamlScalarNode("sites"), out var sitesNode) || sitesNode is not YamlSequenceNode { Children.Count: > 0 } siteList)
        {
            throw new SwarmException($"{read.Path}: `sites:` must list at least one site (name, address, and what it runs)");
        }
        var sites = siteList.Children.Select(node => ParseSite(read, node)).ToList();
        var project = new SwarmProject(trustDomain, ttl, licence, sites);
        project.Check(read.Path);
        return project;
    }

    private static KitSite ParseSite(Reader read, YamlNode node)
    {
        var map = read.Mapping(node, "a site");
        read.Only(map, "name", "address", "identity-server", "apls", "sn", "sl");
        string name = read.Text(map, "name") ?? throw read.Error(node, "a site needs a name");
        if (!NamePattern().IsMatch(name) || name == OperatorFolder)
        {
            throw read.Error(node, $"site name '{name}' must be lower-case letters, digits and dashes, and not '{OperatorFolder}' (it names the kit's folder; '{OperatorFolder}' holds the operator's keys)");
        }
        string address = read.Text(map, "address") ?? throw read.Error(node, $"site {name} needs an address (the IP address the other sites reach it at)");
        if (!IPAddress.TryParse(address, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || ip.ToString() != address)
        {
            throw read.Error(node, $"site {name}: address '{address}' is not an IPv4 address in dotted form, like 10.0.0.5 (components listen on it, and certificates are not bound to names)");
        }
        var components = new List<KitComponent>();
        foreach (var (key, kind) in new[] { ("identity-server", ComponentKind.IdentityServer), ("apls", ComponentKind.Apls) })
        {
            if (map.Children.TryGetValue(new YamlScalarNode(key), out var value) && read.Enabled(value, key) is { } settings)
            {
                components.Add(new KitComponent(kind, key, settings, read.Where(value)));
            }
        }
        foreach (var (key, kind) in new[] { ("sn", ComponentKind.Sn), ("sl", ComponentKind.Sl) })
        {
            if (!map.Children.TryGetValue(new YamlScalarNode(key), out var value))
            {
                continue;
            }
            if (value is not YamlSequenceNode list)
            {
                throw read.Error(value, $"site {name}: `{key}:` is a list of {key.ToUpperInvariant()}s, each with a name");
            }
            foreach (var item in list.Children)
            {
                var settings = read.Mapping(item, $"an {key.ToUpperInvariant()}").Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => e.Value);
                string component = settings.Remove("name", out var n) && n is YamlScalarNode { Value: { } text } ? text : throw read.Error(item, $"every {key.ToUpperInvariant()} needs a name");
                if (!NamePattern().IsMatch(component))
                {
                    throw read.Error(item, $"{key.ToUpperInvariant()} name '{component}' must be lower-case letters, digits and dashes (it is part of its SPIFFE ID)");
                }
                components.Add(new KitComponent(kind, component, settings, read.Where(item)));
            }
        }
        if (components.Count == 0)
        {
            throw read.Error(node, $"site {name} runs nothing: give it identity-server, apls, sn or sl");
        }
        return new KitSite(name, ip, components);
    }

    private void Check(string path)
    {
        void Unique(IEnumerable<string> names, string what)
        {
            if (names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                throw new SwarmException($"{path}: two {what} are named '{twice.Key}'");
            }
        }
        Unique(Sites.Select(s => s.Name), "sites");
        Unique(All.Where(x => x.Component.Kind == ComponentKind.Sn).Select(x => x.Component.Name), "SNs");
        Unique(All.Where(x => x.Component.Kind == ComponentKind.Sl).Select(x => x.Component.Name), "SL nodes");
        int identity = All.Count(x => x.Component.Kind == ComponentKind.IdentityServer);
        if (identity != 1)
        {
            throw new SwarmException($"{path}: exactly one site runs the identity server (`identity-server: true`); found {identity}");
        }
        if (All.Count(x => x.Component.Kind == ComponentKind.Apls) > 1)
        {
            throw new SwarmException($"{path}: at most one site runs the licence server (apls)");
        }
        if (!All.Any(x => x.Component.Kind == ComponentKind.Sn))
        {
            throw new SwarmException($"{path}: the swarm needs at least one SN (`sn: [{{name: sn1}}]` on a site); the first one listed is the sentinel");
        }
        if (Sites.GroupBy(s => s.Address).FirstOrDefault(g => g.Count() > 1) is { } shared)
        {
            throw new SwarmException($"{path}: sites {string.Join(" and ", shared.Select(s => s.Name))} have the same address {shared.Key}: put their components on one site");
        }
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,62})$")]
    private static partial Regex NamePattern();

    /// <summary>Reads values with the file's name and line in every error.</summary>
    private sealed class Reader(string path)
    {
        public string Path => path;

        public string Where(YamlNode node) => $"{path} line {node.Start.Line}";

        public SwarmException Error(YamlNode node, string message) => new($"{Where(node)}: {message}");

        public YamlMappingNode Mapping(YamlNode node, string what) =>
            node as YamlMappingNode ?? throw Error(node, $"{what} is a mapping of `key: value` lines");

        public void Only(YamlMappingNode map, params string[] keys)
        {
            foreach (var key in map.Children.Keys)
            {
                if (key is not YamlScalarNode { Value: { } name } || !keys.Contains(name))
                {
                    throw Error(key, $"unknown key '{key}' here; expected {string.Join(", ", keys)}");
                }
            }
        }

        public string? Text(YamlMappingNode map, string key) =>
            !map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? null
            : value is YamlScalarNode { Value: { Length: > 0 } text } ? text
            : throw Error(value, $"'{key}' needs a value");

        public int? Number(YamlMappingNode map, string key) => Text(map, key) is not { } text ? null
            : int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0 ? n
            : throw Error(map.Children[new YamlScalarNode(key)], $"'{key}' must be a positive whole number, not '{text}'");

        /// <summary>`key: true` (defaults), `key: false` (not run) or `key: {settings}`.</summary>
        public Dictionary<string, YamlNode>? Enabled(YamlNode value, string key) => value switch
        {
            YamlScalarNode { Value: "true" } => [],
            YamlScalarNode { Value: "false" } => null,
            YamlMappingNode map => map.Children.ToDictionary(e => e.Key is YamlScalarNode { Value: { } k } ? k : throw Error(e.Key, "a setting's name must be a word"), e => e.Value),
            _ => throw Error(value, $"'{key}' is true, false, or a mapping of its settings"),
        };
    }
}
