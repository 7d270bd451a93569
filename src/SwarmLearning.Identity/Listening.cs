using Microsoft.AspNetCore.Builder;

namespace SwarmLearning.Identity;

/// <summary>Starts a host's listeners; a port already taken is one line naming the port and the option that moves it.</summary>
public static class Listening
{
    /// <summary>Starts <paramref name="app"/>; throws a <see cref="Core.SwarmException"/> naming <paramref name="option"/> when the port is taken.</summary>
    public static async Task StartAsync(WebApplication app, string host, int port, string option, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
            || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            throw PortTaken(host, port, option);
        }
    }

    /// <summary>The one-line error for a taken port.</summary>
    public static Core.SwarmException PortTaken(string host, int port, string option) =>
        new($"port {port} on {host} is already in use (another swarm component or program on this host): choose another with {option} (docs/security.md has the port table)");
}
