using System.Net;
using System.Net.Sockets;

namespace SwarmLearning.Testing;

/// <summary>Ports on 127.0.0.1 for servers started by a test.</summary>
internal static class Loopback
{
    /// <summary>A port nobody listens on right now (the OS picks it; a small race with other processes is accepted).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
