using BenchmarkDotNet.Attributes;
using SwarmLearning.Core.Merging;

namespace SwarmLearning.Bench;

/// <summary>Merging 8 models of 10M float32 parameters, against a plain copy of the same 320 MB.</summary>
public class MergeBenchmarks
{
    private const long Parameters = 10_000_000;
    private List<Contribution> _swarm = null!;
    private byte[][] _sources = null!;
    private byte[] _destination = null!;

    [GlobalSetup]
    public void Setup()
    {
        _swarm = Models.Swarm(8, Parameters);
        _sources = [.. _swarm.SelectMany(c => c.Model.Tensors.Select(t => t.Data))];
        _destination = new byte[_sources.Max(s => s.Length)];
    }

    [Benchmark(Baseline = true, Description = "copy 8 x 40 MB (baseline)")]
    public void CopySameBytes()
    {
        foreach (var source in _sources)
        {
            source.AsSpan().CopyTo(_destination);
        }
    }

    [Benchmark(Description = "mean, fresh output memory")]
    public object Mean() => new WeightedMean().Merge(_swarm);

    [Benchmark(Description = "mean, output buffers reused (a leader, round after round)")]
    public object MeanReusingOutput() => _previousMean = new WeightedMean().Merge(_swarm, _previousMean).Model;

    private SwarmLearning.Core.Model.ModelState? _previousMean;

    [Benchmark(Description = "mean, streamed one model at a time, output reused")]
    public object MeanStreamed()
    {
        var accumulator = new MeanAccumulator(_swarm[0].Model.Signature, _swarm.Sum(c => c.Weight), _previousStreamed);
        foreach (var c in _swarm)
        {
            accumulator.Add(c);
        }
        return _previousStreamed = accumulator.Finish();
    }

    private SwarmLearning.Core.Model.ModelState? _previousStreamed;

    [Benchmark(Description = "coordmedian, output reused")]
    public object CoordinateMedian() => _previousMedian = new CoordinateMedian().Merge(_swarm, _previousMedian).Model;

    [Benchmark(Description = "trimmedmean:0.2, output reused")]
    public object TrimmedMean() => _previousMedian = new TrimmedMean(0.2).Merge(_swarm, _previousMedian).Model;

    private SwarmLearning.Core.Model.ModelState? _previousMedian;

    [Benchmark(Description = "geomedian")]
    public object GeometricMedian() => new GeometricMedian().Merge(_swarm);

    [Benchmark(Description = "krum:f=1,m=3")]
    public object Krum() => new Krum(1, 3).Merge(_swarm);
}
