using SwarmLearning.Core;
using SwarmLearning.Core.Files;
using SwarmLearning.Protocol.Contract;
using SwarmLearning.Protocol.InMemory;
using SwarmLearning.TorchSharp.Data;
using TorchSharp;

namespace SwarmLearning.TorchSharp.Tests;

/// <summary>Real networks on real Fashion-MNIST images in an in-process swarm; small slices so CI takes seconds.</summary>
public sealed class SwarmTrainingTests
{
    private static readonly Lazy<(ImageSet Train, ImageSet Test)> s_data = new(() => FashionMnist.Load());

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("lstm")]
    public void State_dict_round_trips_through_a_model_state_and_a_safetensors_file(string model)
    {
        using var a = new TorchSession(model, s_data.Value.Train.Take(64), s_data.Value.Test.Take(64), seed: 1);
        using var b = new TorchSession(model, s_data.Value.Train.Take(64), s_data.Value.Test.Take(64), seed: 2);
        var state = a.GetParameters();
        using var file = new MemoryStream();
        SafetensorsWriter.Write(state, file);
        b.LoadParameters(SafetensorsReader.Read(new MemoryStream(file.ToArray()), "memory"));
        Assert.Equal(SafetensorsWriter.Hash(state), SafetensorsWriter.Hash(b.GetParameters()));
        Assert.Equal(a.Evaluate()!.Loss, b.Evaluate()!.Loss, 6);
    }

    [Fact]
    public void Loading_another_network_s_state_is_refused_naming_the_tensor()
    {
        using var mlp = new TorchSession("mlp", s_data.Value.Train.Take(64), s_data.Value.Test.Take(64), seed: 1);
        using var cnn = new TorchSession("cnn", s_data.Value.Train.Take(64), s_data.Value.Test.Take(64), seed: 1);
        var error = Assert.Throws<SwarmException>(() => cnn.LoadParameters(mlp.GetParameters()));
        Assert.Contains("tensor 'fc1.weight' has shape [256,784] but [128,3136] is expected", error.Message);
    }

    [Fact]
    public void The_proximal_term_keeps_local_steps_near_the_last_merged_model()
    {
        var (train, test) = (s_data.Value.Train.Take(640), s_data.Value.Test.Take(64));
        double Drift(double mu)
        {
            var recipe = new TrainingRecipe("sgd", 0.01, Momentum: 0, Proximal: mu);
            using var session = new TorchSession("mlp", train, test, seed: 3, recipe: recipe);
            var merged = session.GetParameters();
            session.LoadParameters(merged);
            for (int b = 0; b < 10; b++)
            {
                session.TrainBatchAsync(default).GetAwaiter().GetResult();
            }
            var after = session.GetParameters();
            return merged.Tensors.Zip(after.Tensors).Sum(p => p.First.AsSpan<float>().ToArray().Zip(p.Second.AsSpan<float>().ToArray()).Sum(x => (double)(x.First - x.Second) * (x.First - x.Second)));
        }

        double free = Drift(0), pulled = Drift(50);
        Assert.True(pulled < 0.5 * free, $"drift with mu 50: {pulled:G3}, without: {free:G3}");
        Assert.Throws<SwarmException>(() => new TrainingRecipe(Proximal: -1).Validate());
    }

    [Fact]
    public void Control_variates_travel_in_the_parameter_file_and_correct_the_gradients_by_the_swarm_s_average()
    {
        var (train, test) = (s_data.Value.Train.Take(640), s_data.Value.Test.Take(64));
        var recipe = new TrainingRecipe("sgd", 0.05, Momentum: 0);
        using var plain = new TorchSession("mlp", train, test, seed: 4, recipe: recipe);
        using var scaffold = new TorchSession("mlp", train, test, seed: 4, recipe: recipe with { ControlVariates = true });
        void Train(TorchSession session, int batches)
        {
            torch.manual_seed(batches); // dropout draws from torch's global generator: the same draws for both sessions
            for (int b = 0; b < batches; b++)
            {
                session.TrainBatchAsync(default).GetAwaiter().GetResult();
            }
        }
        float[] Weights(TorchSession session) => session.GetParameters()["fc1.weight"].AsSpan<float>().ToArray();

        Train(plain, 5);
        Train(scaffold, 5);
        var shared = scaffold.GetParameters();
        var own = shared[ControlVariates.Prefix + "fc1.weight"].AsSpan<float>().ToArray();
        Assert.Contains(own, v => v != 0); // this node's average gradient over its 5 steps
        Assert.Equal(plain.GetParameters().Tensors.Count * 2, shared.Tensors.Count);

        // The swarm's c equal to this node's: no correction, the same steps as without variates.
        scaffold.LoadParameters(shared);
        Train(plain, 5);
        Train(scaffold, 5);
        Assert.Equal(Weights(plain), Weights(scaffold), (a, b) => Math.Abs(a - b) < 1e-5);

        // Another c: every step is shifted by lr * (c_i - c).
        var shifted = new Core.Model.ModelState([.. scaffold.GetParameters().Tensors.Select(t => t.Name.StartsWith(ControlVariates.Prefix, StringComparison.Ordinal)
            ? Core.Model.Tensor.FromFloats(t.Name, t.Shape, t.AsSpan<float>().ToArray().Select(v => v + 1f).ToArray()) : t)]);
        var before = Weights(scaffold);
        scaffold.LoadParameters(shifted);
        Train(scaffold, 1);
        var after = Weights(scaffold);
        Assert.All(before.Zip(after), p => Assert.True(p.Second < p.First - 0.04f, $"{p.First} -> {p.Second}"));
    }

    [Fact]
    public void With_logit_adjustment_a_node_holding_one_class_does_not_learn_that_everything_is_that_class()
    {
        var train = s_data.Value.Train;
        var tops = train.Select([.. Enumerable.Range(0, train.Count).Where(i => train.Labels[i] == 0).Take(640)]);
        var others = s_data.Value.Test.Select([.. Enumerable.Range(0, 2000).Where(i => s_data.Value.Test.Labels[i] != 0)]);
        double ProbabilityOfTops(bool adjust)
        {
            using var session = new TorchSession("mlp", tops, others.Take(64), seed: 5, recipe: new TrainingRecipe("sgd", 0.05, LogitAdjust: adjust));
            for (int b = 0; b < 20; b++)
            {
                session.TrainBatchAsync(default).GetAwaiter().GetResult();
            }
            return MeanProbabilityOfTops(session, others);
        }

        // The other classes' images: plain training makes 'T-shirt/top' near certain for them; the adjusted loss is
        // already small for a node that holds only tops, so it barely moves the network's (plain) scores.
        double plain = ProbabilityOfTops(false), adjusted = ProbabilityOfTops(true);
        Assert.True(plain > 0.9, $"plain training: p(top) = {plain:P0} for other classes' images");
        Assert.True(adjusted < 0.5, $"with logit adjustment: p(top) = {adjusted:P0}");
    }

    private static double MeanProbabilityOfTops(TorchSession session, ImageSet images)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        session.Model.eval();
        var probabilities = torch.nn.functional.softmax(session.Model.call(torch.tensor(images.Pixels, [images.Count, 1, 28, 28])), 1);
        return probabilities.select(1, 0).mean().item<float>();
    }

    [Fact]
    public async Task A_swarm_of_three_beats_its_nodes_alone_on_a_label_skewed_split()
    {
        var (train, test) = (s_data.Value.Train.Take(4500), s_data.Value.Test.Take(2000));
        var shares = Partitioner.Split(train.Labels, 3, "dirichlet:0.2", seed: 5);
        torch.set_num_threads(1);
        var swarm = new InProcessSwarm("fmnist", new TrainingParameters(MinPeers: 3, SyncFrequency: 4),
            new ContractTimings(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), 2));
        var sessions = shares.Select((s, i) => new TorchSession("mlp", train.Select(s), test.Take(200), seed: 10 + i)).ToArray();
        // Weighted by data size (the callback gives each session's sample count), as FedAvg does: with a skewed split the shares differ tenfold.
        var runs = sessions.Select((s, i) => swarm.Start($"node{i + 1}", s, epochs: 3)).ToArray();
        var finals = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(5));

        double swarmAccuracy = sessions[0].Score(test).Metric;
        var alone = new List<double>();
        for (int i = 0; i < shares.Length; i++)
        {
            using var session = new TorchSession("mlp", train.Select(shares[i]), test.Take(200), seed: 10 + i);
            for (int b = 0; b < 3 * session.BatchesPerEpoch; b++)
            {
                await session.TrainBatchAsync(default);
            }
            alone.Add(session.Score(test).Metric);
        }

        Assert.Single(finals.Select(f => f.Sha256).Distinct());
        Assert.All(alone, a => Assert.True(swarmAccuracy > a + 0.05, $"swarm {swarmAccuracy:P1} vs alone {string.Join(", ", alone.Select(x => x.ToString("P1")))}"));
        foreach (var s in sessions)
        {
            s.Dispose();
        }
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("lstm")]
    public async Task Each_network_trains_in_a_swarm_and_every_node_ends_with_the_same_model(string model)
    {
        var (train, test) = (s_data.Value.Train.Take(600), s_data.Value.Test.Take(300));
        var shares = Partitioner.Split(train.Labels, 2, "iid", seed: 1);
        torch.set_num_threads(1);
        var swarm = new InProcessSwarm("net", new TrainingParameters(MinPeers: 2, SyncFrequency: 2),
            new ContractTimings(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), 2));
        var sessions = shares.Select((s, i) => new TorchSession(model, train.Select(s), test, seed: i)).ToArray();
        double before = sessions[0].Score(test).Loss;
        var runs = sessions.Select((s, i) => swarm.Start($"n{i}", s, epochs: 1)).ToArray();
        var finals = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Single(finals.Select(f => f.Sha256).Distinct());
        Assert.True(sessions[0].Score(test).Loss < before, $"{model}: loss did not fall");
        Assert.True(swarm.State.History.Count >= 3);
        foreach (var s in sessions)
        {
            s.Dispose();
        }
    }
}
