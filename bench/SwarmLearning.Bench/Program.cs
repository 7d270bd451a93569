using BenchmarkDotNet.Running;

if (args is ["ledger", ..])
{
    await SwarmLearning.Bench.LedgerHarness.RunAsync();
    return 0;
}
if (args is ["syncround", ..])
{
    bool quick = args.Contains("--quick");
    await SwarmLearning.Bench.SyncRoundHarness.RunAsync(quick ? [3] : [3, 6], quick ? [1_000_000] : [1_000_000, 10_000_000, 50_000_000]);
    return 0;
}
if (args is ["syncround-audit", ..])
{
    int Arg(string name, int fallback) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    await SwarmLearning.Bench.SyncRoundHarness.AuditCostAsync(Arg("--nodes", 6), Arg("--size", 10_000_000), Arg("--rounds", 5), Arg("--pairs", 2));
    return 0;
}
if (args is ["lab-program", ..])
{
    return await SwarmLearning.Bench.LabProgram.RunAsync(args);
}
if (args is ["compression", ..])
{
    SwarmLearning.Bench.CompressionHarness.Run();
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new SwarmLearning.Bench.ShortRunConfig());
return 0;
