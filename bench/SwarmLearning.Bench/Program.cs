using BenchmarkDotNet.Running;

if (args is ["ledger", ..])
{
    await SwarmLearning.Bench.LedgerHarness.RunAsync();
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new SwarmLearning.Bench.ShortRunConfig());
