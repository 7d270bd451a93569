using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace SwarmLearning.Network;

/// <summary>
/// Reads a JSON body from the network strictly: a missing or null required field, a wrong type or an oversized body
/// is a one-line 400/413 naming what is wrong, never an exception in a handler.
/// </summary>
internal static class RequestInput
{
    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext context, JsonSerializerOptions options)
        where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(context.Request.Body, options, context.RequestAborted);
            return value is null ? (null, Bad($"the body must be a {typeof(T).Name} object, not null")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Bad($"the body is not a valid {typeof(T).Name}: {e.Message}"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Results.Problem($"the body is larger than the {Ledger.Chain.TransactionCheck.MaxBytes} bytes a request may carry", statusCode: StatusCodes.Status413PayloadTooLarge));
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return (null, Bad($"the body is not a valid {typeof(T).Name}: {e.Message}"));
        }
    }

    public static IResult Bad(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest);

    /// <summary>A refusal with its code as the title (e.g. bad-signature), so clients can tell refusals apart.</summary>
    public static IResult Refused(string code, string detail, int status) => Results.Problem(detail, statusCode: status, title: code);
}

/// <summary>
/// Bounds how often one caller may be refused: 30 refusals within a minute, then 429 until that minute is over. Keeps a
/// peer that sends bad requests in a loop from costing the SN more than a few checks (docs/security.md).
/// </summary>
internal sealed class RefusalLimiter : IDisposable
{
    private readonly ConcurrentDictionary<string, (DateTime Start, int Count)> _windows = new(StringComparer.Ordinal);

    public const int PerMinute = 30;

    /// <summary>Whether <paramref name="caller"/> has used up its refusals for now.</summary>
    public bool Exhausted(string caller) =>
        _windows.TryGetValue(caller, out var window) && DateTime.UtcNow - window.Start < TimeSpan.FromMinutes(1) && window.Count >= PerMinute;

    /// <summary>Counts one refusal of <paramref name="caller"/>.</summary>
    public void Count(string caller)
    {
        if (_windows.Count > 10_000)
        {
            _windows.Clear(); // bounded memory; at worst a caller starts a fresh window
        }
        var now = DateTime.UtcNow;
        _windows.AddOrUpdate(caller, _ => (now, 1), (_, window) => now - window.Start < TimeSpan.FromMinutes(1) ? (window.Start, window.Count + 1) : (now, 1));
    }

    public static IResult TooMany(string caller) => Results.Problem(
        $"{caller} was refused more than {PerMinute} times in the last minute; fix the requests and retry in a minute", statusCode: StatusCodes.Status429TooManyRequests);

    public void Dispose() => _windows.Clear();
}
