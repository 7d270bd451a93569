using SwarmLearning.Core.Model;
using SwarmLearning.Protocol.Ports;

namespace SwarmLearning.Protocol.Session;

/// <summary>A merged model handed back by the node: its hash, round, and (over the ML channel) its file.</summary>
/// <param name="Sha256">The content hash of the model's safetensors file.</param>
/// <param name="Round">The round it was merged in.</param>
/// <param name="TrainingOver">True when the contract is complete: this is the final swarm model.</param>
/// <param name="SyncEvery">Local batches until the next sync.</param>
/// <param name="Path">The node's file of the model (read-only), when the node is across the ML channel.</param>
public sealed record MergedModel(string Sha256, long Round, bool TrainingOver, int SyncEvery, string? Path = null);

/// <summary>The ML program's side of its SL node: the same three calls whether the node is across a Unix socket or in process.</summary>
public interface IMlChannel : IDisposable
{
    /// <summary>Joins the training contract; the model fixes the layout every node must share. Throws <see cref="Core.SwarmException"/> with the node's reason if refused.</summary>
    Task<SessionRegistration> RegisterAsync(SwarmParameters parameters, ModelState model, CancellationToken cancellationToken);

    /// <summary>Offers <paramref name="model"/> and returns the merged model to load.</summary>
    Task<(MergedModel Merged, ModelState Model)> SyncAsync(SyncKind kind, ModelState model, int epochsDone, bool trainedSinceSync, CancellationToken cancellationToken);

    /// <summary>Reports validation results after loading a merged model; returns the batches until the next sync.</summary>
    Task<int> ReportAsync(int epochsDone, Evaluation? evaluation, CancellationToken cancellationToken);
}
