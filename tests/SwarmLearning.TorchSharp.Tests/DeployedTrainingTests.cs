using SwarmLearning.Core.Files;
using SwarmLearning.Node.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.Protocol.Ports;
using SwarmLearning.Protocol.Session;
using SwarmLearning.Testing;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;

namespace SwarmLearning.TorchSharp.Tests;

/// <summary>
/// The deployed C# callback (over the real ML channel) and `swarm simulate`'s (in process) train alike: a recipe's lever
/// changes both the same way, because the callback loads merged models through <see cref="TorchSession.LoadParameters"/>.
/// </summary>
public sealed class DeployedTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sl-deployed-").FullName;

    [Fact]
    public async Task FedProx_changes_the_deployed_training_exactly_as_it_changes_the_simulated_one()
    {
        var fedProx = new TrainingRecipe(Proximal: 0.5, BatchSize: 16);
        var plain = fedProx.Plain;

        string simulated = await FinalModelAsync(MlChannels.InProcess, fedProx, "sim-prox");
        string deployed = await FinalModelAsync(MlChannels.Grpc, fedProx, "dep-prox");
        string deployedPlain = await FinalModelAsync(MlChannels.Grpc, plain, "dep-plain");

        Assert.Equal(simulated, deployed);      // the same lever, the same training, bit for bit
        Assert.NotEqual(deployedPlain, deployed); // and the lever does act on the deployed path
    }

    /// <summary>One node (minPeers 1) trains 2 epochs of 96 seeded random images through the callback; returns the final model's hash.</summary>
    private async Task<string> FinalModelAsync(string kind, TrainingRecipe recipe, string name)
    {
        torch.set_num_threads(1);
        var random = new Random(3);
        var images = new ImageSet([.. Enumerable.Range(0, 96 * ImageSet.PixelCount).Select(_ => (float)random.NextDouble())], [.. Enumerable.Range(0, 96).Select(i => (byte)(i % 10))]);
        var ledger = new InMemoryLedger(TimeProvider.System);
        ledger.Submit(new CreateContract("prox", new TrainingParameters(MinPeers: 1, SyncFrequency: 2), ContractTimings.Default), "operator", isOperator: true).EnsureAccepted();
        var store = new FileParameterStore(Path.Combine(_root, name, "files"));
        var context = new NodeSessionContext(name, ledger.For(name), store, new NoPeers());
        var (channel, host) = await MlChannels.OpenAsync(kind, new NodeSession(context), store, Path.Combine(_root, name));
        await using (host)
        {
            using var session = new TorchSession("mlp", images, images.Take(16), seed: 5, recipe.ForRun(12));
            using var swarm = new SwarmCallback(session, new SwarmParameters(SyncFrequency: 2, MinPeers: 1) { TrainingContract = "prox", TotalEpochs = 2 }, session.Evaluate, channel);
            var final = await SwarmProgram.RunAsync(session, swarm.Session, 2, null, CancellationToken.None);
            Assert.Equal(final.Sha256, SafetensorsWriter.Hash(session.GetParameters()).Hex); // the final swarm model is what the session holds
            return final.Sha256;
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class NoPeers : IParameterTransport
    {
        public Task FetchAsync(ContentHash hash, string peerNodeId, string? peerAddress, CancellationToken cancellationToken) =>
            throw new PeerUnavailableException("a single node has no peers");
    }
}
