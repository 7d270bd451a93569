using System.CommandLine;

namespace SwarmLearning.Cli.Kits;

/// <summary>`swarm kit create PROJECT`: one folder per site, to copy to its host and start there (docs/deploy.md).</summary>
internal static class KitCommand
{
    public static Command Create()
    {
        var project = new Argument<string>("project") { Description = "the project file (YAML): sites, their addresses, what each runs" };
        var output = new Option<string>("--out") { Description = "folder to write the kits into (must not exist)", DefaultValueFactory = _ => "kits" };
        var create = new Command("create", "write a kit per site: settings, identity material (join tokens, the CA for the identity server's site, the licence for the licence server's) and start/stop scripts")
        {
            project, output,
        };
        create.SetAction(parse => CommandRun.Guarded(() =>
        {
            string path = parse.GetValue(project)!;
            var writer = new KitWriter(SwarmProject.Load(path), path);
            string folder = Path.GetFullPath(parse.GetValue(output)!);
            var lines = writer.Write(folder);
            Console.WriteLine($"wrote {lines.Count} site kits and an operator folder to {folder}:");
            foreach (string line in lines)
            {
                Console.WriteLine("  " + line);
            }
            Console.WriteLine("copy each site's folder to its host and run its start.sh there (identity server's site first, then the sentinel's); see its README.txt");
            return Task.CompletedTask;
        }));
        var command = new Command("kit", "site kits for a swarm across several hosts");
        command.Subcommands.Add(create);
        return command;
    }
}
