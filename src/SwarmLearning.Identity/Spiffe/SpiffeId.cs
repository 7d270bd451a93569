using System.Text;
using SwarmLearning.Core;

namespace SwarmLearning.Identity.Spiffe;

/// <summary>
/// A SPIFFE ID, <c>spiffe://trust-domain/path</c>, validated by the SPIFFE ID specification's rules. Parsed by hand,
/// never through <see cref="Uri"/>, which normalises (lower-cases, resolves dot segments, decodes) what the
/// specification says must be rejected.
/// </summary>
public sealed record SpiffeId
{
    private const string Scheme = "spiffe://";
    private const int MaxTrustDomainBytes = 255;
    private const int MaxBytes = 2048;

    private SpiffeId(string trustDomain, string path)
    {
        TrustDomain = trustDomain;
        Path = path;
    }

    /// <summary>The trust domain, e.g. <c>swarm.local</c>.</summary>
    public string TrustDomain { get; }

    /// <summary>The path with its leading slash (<c>/sl/node1</c>), or empty for the trust domain itself.</summary>
    public string Path { get; }

    /// <summary>Whether this names a trust domain rather than a workload.</summary>
    public bool IsTrustDomain => Path.Length == 0;

    /// <summary>The path's segments.</summary>
    public IReadOnlyList<string> Segments => Path.Length == 0 ? [] : Path[1..].Split('/');

    /// <summary>Parses <paramref name="text"/>, throwing a <see cref="SpiffeIdException"/> that names the rule it breaks.</summary>
    public static SpiffeId Parse(string text) => TryParse(text, out var id, out string? error) ? id : throw new SpiffeIdException(error);

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says which rule it breaks.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SpiffeId? id, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        id = null;
        error = Check(text);
        if (error is not null)
        {
            return false;
        }
        string rest = text![Scheme.Length..];
        int slash = rest.IndexOf('/');
        id = slash < 0 ? new SpiffeId(rest, "") : new SpiffeId(rest[..slash], rest[slash..]);
        return true;
    }

    /// <summary>The trust domain <paramref name="trustDomain"/> as a SPIFFE ID, validated.</summary>
    public static SpiffeId ForTrustDomain(string trustDomain) => Parse(Scheme + trustDomain);

    /// <summary>A workload ID in this ID's trust domain, e.g. <c>InDomain("sl", "node1")</c>.</summary>
    public SpiffeId InDomain(params string[] segments) => Parse($"{Scheme}{TrustDomain}/{string.Join('/', segments)}");

    /// <summary>Whether this ID's path starts with the segments <paramref name="prefix"/> (e.g. "sl").</summary>
    public bool IsUnder(string prefix) => Path.StartsWith("/" + prefix.Trim('/') + "/", StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Scheme + TrustDomain + Path;

    private static string? Check(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "a SPIFFE ID is required, like spiffe://swarm.local/sl/node1";
        }
        if (!text.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return $"'{text}' is not a SPIFFE ID: it must start with '{Scheme}' (lower case), like spiffe://swarm.local/sl/node1";
        }
        if (Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            return $"SPIFFE ID is {Encoding.UTF8.GetByteCount(text)} bytes long; the limit is {MaxBytes}";
        }
        string rest = text[Scheme.Length..];
        int slash = rest.IndexOf('/');
        string domain = slash < 0 ? rest : rest[..slash];
        if (domain.Length == 0)
        {
            return $"'{text}' has no trust domain: write spiffe://<trust-domain>/<path>";
        }
        if (domain.Length > MaxTrustDomainBytes)
        {
            return $"trust domain of '{text}' is {domain.Length} characters; the limit is {MaxTrustDomainBytes}";
        }
        foreach (char c in domain)
        {
            if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                string why = c switch
                {
                    >= 'A' and <= 'Z' => "upper case is not allowed in a trust domain; write it in lower case",
                    ':' => "a port is not allowed in a SPIFFE ID",
                    '@' => "user info is not allowed in a SPIFFE ID",
                    '?' or '#' => "a query or fragment is not allowed in a SPIFFE ID",
                    '%' => "percent-encoding is not allowed in a SPIFFE ID",
                    _ => "a trust domain may contain only a-z, 0-9, '.', '-' and '_'",
                };
                return $"'{text}': character '{c}' in the trust domain: {why}";
            }
        }
        if (slash < 0)
        {
            return null;
        }
        string path = rest[slash..];
        if (path == "/")
        {
            return $"'{text}' ends with '/': write the trust domain without a trailing slash, or add a path";
        }
        foreach (string segment in path[1..].Split('/'))
        {
            if (segment.Length == 0)
            {
                return $"'{text}' has an empty path segment (a double or trailing '/')";
            }
            if (segment is "." or "..")
            {
                return $"'{text}' has a '{segment}' path segment; relative segments are not allowed";
            }
            foreach (char c in segment)
            {
                if (!(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_'))
                {
                    string why = c switch
                    {
                        '?' or '#' => "a query or fragment is not allowed in a SPIFFE ID",
                        '%' => "percent-encoding is not allowed in a SPIFFE ID",
                        _ => "path segments may contain only letters, digits, '.', '-' and '_'",
                    };
                    return $"'{text}': character '{c}' in path segment '{segment}': {why}";
                }
            }
        }
        return null;
    }
}

/// <summary>Signals a malformed SPIFFE ID; the message names the rule it breaks.</summary>
public sealed class SpiffeIdException(string message) : SwarmException(message);
