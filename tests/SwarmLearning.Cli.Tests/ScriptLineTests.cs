using SwarmLearning.Cli.Swci;

namespace SwarmLearning.Cli.Tests;

/// <summary>A swci script's lines: HPE's SWCI language in any case, ours as after `swarm swci`, SWOP's commands refused.</summary>
public sealed class ScriptLineTests
{
    [Theory]
    [InlineData("LIST CONTRACTS", "contract list")]
    [InlineData("list contracts", "contract list")]
    [InlineData("SWITCH CONTEXT test-mnist", "context use test-mnist")]
    [InlineData("LIST CONTEXTS", "context list")]
    [InlineData("GET CONTRACT STATUS defaultbb.cqdb.sml.hpe", "contract status defaultbb.cqdb.sml.hpe")]
    [InlineData("get contract info mnist", "contract status mnist")]
    [InlineData("RESET CONTRACT defaultbb.cqdb.sml.hpe", "contract reset defaultbb.cqdb.sml.hpe")]
    [InlineData("PERFDATA mnist", "perfdata mnist")]
    [InlineData("List Nodes", "nodes")]
    [InlineData("contract create fashion --min-peers 3 --sync-frequency 10", "contract create fashion --min-peers 3 --sync-frequency 10")]
    public void Hpe_commands_become_ours(string line, string ours) =>
        Assert.Equal(ours.Split(' '), Assert.IsType<RunSwci>(ScriptLine.Parse(line)).Arguments);

    [Fact]
    public void Contexts_and_waits_take_hpes_ip_port_and_retries()
    {
        Assert.Equal(new CreateContext("test-mnist", "sn1:30304"), ScriptLine.Parse("create context test-mnist with ip sn1"));
        Assert.Equal(new CreateContext("c", "10.0.0.2:31004"), ScriptLine.Parse("CREATE CONTEXT c WITH IP 10.0.0.2 31004"));
        Assert.Equal(new CreateContext("c", "sn.example:443"), ScriptLine.Parse("CREATE CONTEXT c WITH SERVICE sn.example:443"));
        Assert.Equal(new WaitForSn("sn1:30304", TimeSpan.FromMinutes(30)), ScriptLine.Parse("wait for ip sn1"));
        Assert.Equal(new WaitForSn("10.0.0.2:31004", TimeSpan.FromSeconds(50)), ScriptLine.Parse("WAIT FOR IP 10.0.0.2 31004 10"));
        Assert.Equal(new DeclareContract("mnist"), ScriptLine.Parse("CREATE CONTRACT mnist"));
    }

    [Fact]
    public void Script_control_lines_are_understood()
    {
        Assert.IsType<ExitScript>(ScriptLine.Parse("EXIT"));
        Assert.Equal(new SetExitOnFailure(true), ScriptLine.Parse("EXIT ON FAILURE"));
        Assert.Equal(new SetExitOnFailure(false), ScriptLine.Parse("exit on failure off"));
        Assert.Equal(new Sleep(TimeSpan.FromSeconds(15)), ScriptLine.Parse("SLEEP 15"));
        Assert.Equal(new ChangeDirectory("/platform/swarm/usr"), ScriptLine.Parse("cd /platform/swarm/usr"));
        Assert.Equal(new Show("pwd"), ScriptLine.Parse("pwd()"));
        Assert.Equal(new Show("version"), ScriptLine.Parse("GET CONTEXT VERSION"));
    }

    [Theory]
    [InlineData("CREATE TASK FROM taskdefs/run_mnist_pyt.yaml", "'CREATE TASK' is a SWOP task command")]
    [InlineData("FINALIZE TASK run_mnist_pyt", "'FINALIZE TASK' is a SWOP task command")]
    [InlineData("ASSIGN TASK run_mnist_pyt TO defaulttaskbb.taskdb.sml.hpe WITH 4 PEERS", "'ASSIGN TASK' is a SWOP task command")]
    [InlineData("WAIT FOR TASKRUNNER defaulttaskbb.taskdb.sml.hpe", "'WAIT FOR TASKRUNNER' is a SWOP task command")]
    [InlineData("RESET TASKRUNNER defaulttaskbb.taskdb.sml.hpe", "'RESET TASKRUNNER' is a SWOP task command")]
    [InlineData("LIST TASKS", "'LIST TASKS' is a SWOP task command")]
    [InlineData("SET CONTEXT ENV c X 1", "context environment variables are SWOP's")]
    [InlineData("DROP TABLE contracts", "unknown command 'DROP TABLE contracts'")]
    [InlineData("SLEEP soon", "expected SLEEP <seconds>")]
    [InlineData("CREATE CONTEXT c WITH FRIENDS", "expected CREATE CONTEXT <name> WITH IP")]
    public void What_we_do_not_have_is_refused_with_what_to_do_instead(string line, string expected) =>
        Assert.Contains(expected, Assert.IsType<Refused>(ScriptLine.Parse(line)).Message, StringComparison.Ordinal);
}
