using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace SwarmLearning.Identity.Spiffe;

/// <summary>
/// The X509-SVID rules on a certificate: reading and writing the URI SAN that carries the SPIFFE ID (.NET exposes DNS
/// and IP names but not URIs, so this reads the extension's ASN.1 itself) and checking a leaf or CA against the spec.
/// </summary>
public static class SvidCertificate
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>A SAN extension holding exactly <paramref name="id"/> as its URI (written without a trailing slash).</summary>
    public static X509Extension UriSan(SpiffeId id, bool critical = false)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteCharacterString(UniversalTagNumber.IA5String, id.ToString(), UriTag);
        }
        return new X509Extension(SubjectAltNameOid, writer.Encode(), critical);
    }

    /// <summary>Every URI in the certificate's SAN extension.</summary>
    public static IReadOnlyList<string> UriSans(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }
            var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag.HasSameClassAndValue(UriTag))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        return uris;
    }

    /// <summary>The SPIFFE ID of a leaf SVID, or a <see cref="SvidException"/> saying which X509-SVID rule it breaks.</summary>
    public static SpiffeId LeafId(X509Certificate2 certificate)
    {
        string? problem = LeafProblem(certificate, out var id);
        return problem is null ? id! : throw new SvidException(problem);
    }

    /// <summary>Why <paramref name="certificate"/> is not a valid leaf X509-SVID, or null when it is.</summary>
    public static string? LeafProblem(X509Certificate2 certificate, out SpiffeId? id)
    {
        id = null;
        var uris = UriSans(certificate);
        if (uris.Count != 1)
        {
            return $"certificate '{certificate.Subject}' has {uris.Count} URI SANs; an X509-SVID has exactly one, its SPIFFE ID";
        }
        if (!SpiffeId.TryParse(uris[0], out var parsed, out string? error))
        {
            return $"certificate '{certificate.Subject}': {error}";
        }
        if (parsed.IsTrustDomain)
        {
            return $"leaf certificate's SPIFFE ID '{parsed}' has no path; a workload's ID needs one";
        }
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is { CertificateAuthority: true })
        {
            return $"certificate for '{parsed}' is a CA; a leaf SVID must have CA:FALSE";
        }
        var usage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        if (usage is null || !usage.KeyUsages.HasFlag(X509KeyUsageFlags.DigitalSignature))
        {
            return $"certificate for '{parsed}' lacks the digitalSignature key usage an X509-SVID requires";
        }
        if ((usage.KeyUsages & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0)
        {
            return $"leaf certificate for '{parsed}' may not have keyCertSign or cRLSign";
        }
        id = parsed;
        return null;
    }
}

/// <summary>Signals a certificate that is not a valid X509-SVID or not acceptable to an endpoint.</summary>
public sealed class SvidException(string message) : Core.SwarmException(message);
