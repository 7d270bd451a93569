using System.Net.Http.Json;
using System.Text.Json;
using SwarmLearning.Core;
using SwarmLearning.Identity.Client;
using SwarmLearning.Identity.Spiffe;
using SwarmLearning.Identity.Tls;
using SwarmLearning.Ledger.Chain;
using SwarmLearning.Network;
using SwarmLearning.Network.Client;

namespace SwarmLearning.Cli.Swci;

/// <summary>
/// A command-interface context (HPE SWCI's "context"): which SN API to talk to, as which operator identity
/// (spiffe://TD/swci/NAME, its SVID and ledger key under $SWARM_HOME/swci/NAME). A context may use another context's
/// identity (<see cref="IdentityOf"/>): an HPE script names its own contexts, and the operator has one identity.
/// The current one is in $SWARM_HOME/swci/current.
/// </summary>
internal sealed record SwciContext(string Name, IReadOnlyList<string> Sns, string? IdentityOf = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string Root => SwarmHome.Of("swci");

    public string Folder => Path.Combine(Root, Name);

    /// <summary>Where the identity (SVID and ledger key) this context acts with lives.</summary>
    public string IdentityFolder => Path.Combine(Root, IdentityOf ?? Name);

    /// <summary>Whether this context's identity has an SVID on disk.</summary>
    public bool HasIdentity => File.Exists(new SvidFolder(Path.Combine(IdentityFolder, "identity")).CertificatePath);

    public void Save()
    {
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, "context.json"), JsonSerializer.Serialize(this, Json));
    }

    public static void Use(string name)
    {
        _ = Load(name);
        File.WriteAllText(Path.Combine(Root, "current"), name);
    }

    public static SwciContext Load(string name)
    {
        string path = Path.Combine(Root, name, "context.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<SwciContext>(File.ReadAllText(path), Json)!
            : throw new SwarmException($"no context '{name}': create it with `swarm swci context create {name} --sn HOST:PORT ...`");
    }

    /// <summary>The current context, or null when none was made current yet.</summary>
    public static SwciContext? TryCurrent() => File.Exists(Path.Combine(Root, "current")) ? Current() : null;

    public static SwciContext Current()
    {
        string path = Path.Combine(Root, "current");
        return File.Exists(path) ? Load(File.ReadAllText(path).Trim())
            : throw new SwarmException("no context yet: `swarm swci context create NAME --sn HOST:PORT --join-token sjt.…` points the command interface at an SN");
    }

    public static IReadOnlyList<string> All() => Directory.Exists(Root)
        ? [.. Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "context.json"))).Select(Path.GetFileName).Order(StringComparer.Ordinal)!]
        : [];

    /// <summary>The operator's SVID from disk (renewed files are read again), or a clear error when the context has none.</summary>
    public FileSvidSource Identity()
    {
        var folder = new SvidFolder(Path.Combine(IdentityFolder, "identity"));
        return File.Exists(folder.CertificatePath) ? new FileSvidSource(folder.CertificatePath, folder.KeyPath, folder.BundlePath)
            : throw new SwarmException($"context '{IdentityOf ?? Name}' has no identity: create it again with a join token for spiffe://…/swci/{IdentityOf ?? Name} (--join-token-file, or SWARM_JOIN_TOKEN)");
    }

    /// <summary>Opens a session: the operator's SVID from disk, an mTLS client for reads, a ledger client for signed transactions.</summary>
    public SwciSession Open()
    {
        var identity = Identity();
        var key = LedgerKeyFile.OpenOrCreate(IdentityFolder);
        var sns = Sns.Select(s => new Uri($"https://{s}")).ToList();
        return new SwciSession(identity, new SnLedgerClient(sns, identity, key, identity.Id.TrustDomain + "/main"),
            new HttpClient(MutualTls.Handler(identity, PeerPolicy.Under(identity, SwarmIdentities.SwarmNetwork))) { Timeout = TimeSpan.FromSeconds(30) }, sns);
    }
}

/// <summary>An open context: reads over the SN REST API, writes as signed transactions through the ledger client.</summary>
internal sealed class SwciSession(ISvidSource identity, SnLedgerClient ledger, HttpClient http, IReadOnlyList<Uri> sns) : IDisposable
{
    public SnLedgerClient Ledger => ledger;

    public string Operator => identity.Id.ToString();

    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        foreach (var sn in sns)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(sn, path), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return (await response.Content.ReadFromJsonAsync<T>(LedgerJson.Options, cancellationToken))!;
                }
                string body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new SwarmException($"{sn.Authority} answered {(int)response.StatusCode}: {body}");
            }
            catch (HttpRequestException e)
            {
                errors.Add($"{sn.Authority}: {e.Message}");
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{sn.Authority}: no answer within {http.Timeout.TotalSeconds:F0} s");
            }
        }
        throw new SwarmException($"no SN of this context answered ({string.Join("; ", errors)}); `swarm swci wait-for HOST:PORT` waits for one");
    }

    public void Dispose()
    {
        ledger.Dispose();
        http.Dispose();
    }
}
