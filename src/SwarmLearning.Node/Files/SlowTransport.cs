using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Node.Files;

/// <summary>
/// Fault injection for end-to-end tests and drills: every fetch waits <paramref name="delay"/> first, so a round's leader
/// is reliably caught mid-merge by a kill. Enabled only by the SWARM_FAULT_FETCH_DELAY environment variable (e.g. 3s).
/// </summary>
public sealed class SlowTransport(IParameterTransport inner, TimeSpan delay) : IParameterTransport
{
    /// <summary>The variable that turns it on.</summary>
    public const string Variable = "SWARM_FAULT_FETCH_DELAY";

    /// <inheritdoc />
    public async Task FetchAsync(ContentHash hash, string peerNodeId, string? peerAddress, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        await inner.FetchAsync(hash, peerNodeId, peerAddress, cancellationToken);
    }
}
