using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Xunit.Abstractions;

namespace Provisioning.Core.Tests;

/// <summary>
/// Loads the module the way pwsh does, in a separate process that knows nothing of the engine's dependencies
/// (the LoaderProbe), and checks that YAML, templating and the SQLite journal all work from the module folder.
/// </summary>
[Collection(JournalModuleCollection.Name)]
public sealed class JournalLoaderProbeTests(JournalModuleFixture module, ITestOutputHelper output)
{
    [Fact]
    public void An_assembled_module_loads_its_dependencies_and_native_sqlite_from_its_own_folder()
    {
        var run = module.RunProbe(["check", module.AssembledModule, .. AllowedStubs()]);
        output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("PASS journal:", run.Stdout);
        Assert.Contains($"PASS native: e_sqlite3 from {module.AssembledModule}{Path.DirectorySeparatorChar}dependencies{Path.DirectorySeparatorChar}runtimes", run.Stdout);
    }

    [Fact]
    public void The_built_module_folder_loads_in_a_separate_process()
    {
        // module/Provisioning is assembled by a plain `dotnet build` of src/Provisioning (a ProjectReference of this
        // project). Until that build target exists the folder is absent, and the fixture's copy stands in.
        var folder = module.BuiltModule ?? module.AssembledModule;
        output.WriteLine($"module folder: {folder}");
        Assert.Empty(Directory.EnumerateFiles(folder, "System.Management.Automation.dll", SearchOption.AllDirectories));
        var run = module.RunProbe(["check", folder, .. AllowedStubs()]);
        output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public void Without_its_native_assets_the_module_cannot_open_a_journal()
    {
        // The control: nothing but the module's runtimes folder supplies e_sqlite3 to the probe, so the passing
        // tests above prove the module's own native resolution.
        var stripped = module.Assemble(module.NewScratchFolder(), withNativeAssets: false);
        var run = module.RunProbe(["check", stripped, .. AllowedStubs()]);
        output.WriteLine(run.ToString());
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("PASS load:", run.Stdout);
        Assert.Contains("FAIL journal:", run.Stdout);
        Assert.Contains("e_sqlite3", run.Stdout);
    }

    /// <summary>
    /// Engine calls that are still stubs in this build (they throw NotImplementedException here, in-process) may be
    /// stubs in the probe too. Once implemented, the probe must pass them.
    /// </summary>
    private static IEnumerable<string> AllowedStubs()
    {
        var machine = new AgentMachine("node1", "127.0.0.1", 0, [], new ConnectionSettings());
        var allowed = new List<string>();
        if (IsStub(() => TestbedLoader.Parse("name: x\nhosts:\n  a: {}\n", "stub-check.yaml"))) allowed.AddRange(["--allow-stub", "testbed"]);
        if (IsStub(() => new TemplateRenderer().Render("x", machine))) allowed.AddRange(["--allow-stub", "template"]);
        return allowed;
    }

    private static bool IsStub(Action call)
    {
        try
        {
            call();
            return false;
        }
        catch (NotImplementedException)
        {
            return true;
        }
        catch (Exception)
        {
            return false; // implemented (and maybe unhappy with the input): the probe must pass it
        }
    }
}
