using System.Collections;
using System.Reflection;
using System.Runtime.Loader;

namespace Provisioning.LoaderProbe;

/// <summary>
/// What the probe proves about a loaded module, one named part at a time, so a failure says which layer broke:
/// the load contexts, a third-party library, an engine feature, or the native SQLite library.
/// </summary>
internal sealed class ModuleChecks(LoadedModule module)
{
    private const string TestbedYaml =
        """
        name: probe
        hosts:
          node1:
            address: 127.0.0.1
          node2:
            address: 127.0.0.2
        """;

    private object? _machine;

    public IEnumerable<(string Part, Func<string> Check)> All()
    {
        yield return ("load", CheckLoad);
        yield return ("yaml-lib", CheckYamlLibrary);
        yield return ("testbed", CheckTestbed);
        yield return ("template-lib", CheckTemplateLibrary);
        yield return ("template", CheckTemplate);
        yield return ("journal", CheckJournal);
        yield return ("native", CheckNativeLibrary);
    }

    private string CheckLoad()
    {
        Require(AssemblyLoadContext.GetLoadContext(module.Core) == module.Dependencies,
            "Provisioning.Core is not in the module's dependency context");
        RequireFromDependencies(module.Core);
        Require(!AssemblyLoadContext.Default.Assemblies.Any(a => a.GetName().Name == "Provisioning.Core"),
            "Provisioning.Core leaked into the default context");
        return $"{module.Dependencies.GetType().FullName} '{module.Dependencies.Name}' loaded {module.Core.Location}";
    }

    private string CheckYamlLibrary()
    {
        var yaml = module.Dependencies.LoadFromAssemblyName(new AssemblyName("YamlDotNet"));
        RequireFromDependencies(yaml);
        var deserializer = Activator.CreateInstance(yaml.GetType("YamlDotNet.Serialization.Deserializer", throwOnError: true)!)!;
        var deserialize = deserializer.GetType().GetMethods()
            .Single(m => m.Name == "Deserialize" && !m.IsGenericMethod && m.GetParameters().Select(p => p.ParameterType).SequenceEqual([typeof(string)]));
        var parsed = deserialize.Invoke(deserializer, [TestbedYaml]);
        var name = parsed is IDictionary map ? map["name"] : null;
        Require(Equals(name, "probe"), $"YamlDotNet parsed name as '{name}'");
        return $"YamlDotNet {yaml.GetName().Version} from {yaml.Location}";
    }

    private string CheckTestbed()
    {
        var loader = module.CoreType("Provisioning.Core.Testbeds.TestbedLoader");
        var testbed = ReflectedJournal.Call(loader, null, "Parse", TestbedYaml, "probe.yaml")!;
        var machines = ((IEnumerable)ReflectedJournal.Get(testbed, "Machines")!).Cast<object>().ToList();
        Require(machines.Count == 2, $"expected 2 machines, got {machines.Count}");
        Require(Equals(ReflectedJournal.Get(machines[0], "Name"), "node1"), "first machine is not node1");
        _machine = machines[0];
        return $"parsed testbed '{ReflectedJournal.Get(testbed, "Name")}' with {machines.Count} machines";
    }

    private string CheckTemplateLibrary()
    {
        var handlebars = module.Dependencies.LoadFromAssemblyName(new AssemblyName("Handlebars"));
        RequireFromDependencies(handlebars);
        var compile = handlebars.GetType("HandlebarsDotNet.Handlebars", throwOnError: true)!
            .GetMethod("Compile", BindingFlags.Public | BindingFlags.Static, [typeof(string)])!;
        var template = (Delegate)compile.Invoke(null, ["hello {{name}}"])!;
        var output = template.DynamicInvoke(new Dictionary<string, object> { ["name"] = "probe" }, null);
        Require(Equals(output, "hello probe"), $"Handlebars rendered '{output}'");
        return $"Handlebars {handlebars.GetName().Version} from {handlebars.Location}";
    }

    private string CheckTemplate()
    {
        var machine = _machine ?? NewMachine();
        var renderer = Activator.CreateInstance(module.CoreType("Provisioning.Core.Templating.TemplateRenderer"))!;
        var variables = new Dictionary<string, object?> { ["greeting"] = "hello" };
        var output = ReflectedJournal.Call(renderer.GetType(), renderer, "Render", "echo {{ greeting }} {{ name }}", machine, variables);
        Require(Equals(output, "echo hello node1"), $"rendered '{output}'");
        return $"rendered '{output}'";
    }

    private string CheckJournal()
    {
        var folder = Directory.CreateTempSubdirectory("provisioning-probe-").FullName;
        try
        {
            var path = Path.Combine(folder, "state", "journal.db");
            long runId;
            using (var journal = ReflectedJournal.Open(module, path))
            {
                var recorder = journal.BeginRun("Invoke-RemoteCommand",
                    new Dictionary<string, object?> { ["Command"] = "hostname", ["Password"] = "hunter2" }, "probe", 1);
                runId = recorder.RunId;
                recorder.RecordStep(new Dictionary<string, object?>
                {
                    ["Name"] = "node1",
                    ["Address"] = "127.0.0.1",
                    ["Step"] = "command",
                    ["Detail"] = "hostname",
                    ["ExitCode"] = 0,
                    ["Stdout"] = "node1\n",
                    ["StartTime"] = DateTimeOffset.Now,
                    ["Duration"] = TimeSpan.FromMilliseconds(12.5),
                    ["Status"] = "Succeeded",
                });
                recorder.RecordArtifact(new Dictionary<string, object?>
                {
                    ["Name"] = "node1",
                    ["RemotePath"] = "/tmp/out.txt",
                    ["LocalPath"] = Path.Combine(folder, "node1", "out.txt"),
                    ["Length"] = 6L,
                    ["Sha256"] = new string('a', 64),
                });
                recorder.CompleteAsync("Succeeded").GetAwaiter().GetResult();
                recorder.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            // Read back through a second instance, as a later session would.
            using var reopened = ReflectedJournal.Open(module, path);
            var run = reopened.GetRuns(id: runId).Single();
            Require(ReflectedJournal.Get(run, "Status")!.ToString() == "Succeeded", $"run status is {ReflectedJournal.Get(run, "Status")}");
            Require(!((string)ReflectedJournal.Get(run, "Parameters")!).Contains("hunter2"), "password was not redacted");
            var step = reopened.GetSteps(runId).Single();
            Require(Equals(ReflectedJournal.Get(step, "Stdout"), "node1\n"), "step stdout did not round-trip");
            Require(reopened.GetArtifacts(runId).Count == 1, "artifact missing");
            return $"wrote and read run {runId} in {path}";
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private string CheckNativeLibrary()
    {
        var loaded = (IReadOnlyDictionary<string, string>)module.Dependencies.GetType().GetProperty("LoadedNativeLibraries")!.GetValue(module.Dependencies)!;
        Require(loaded.TryGetValue("e_sqlite3", out var path), "the module context did not load e_sqlite3 (it came from somewhere else, or not at all)");
        Require(path!.StartsWith(module.Folder + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"e_sqlite3 loaded from outside the module: {path}");
        if (OperatingSystem.IsLinux())
        {
            // Ground truth from the kernel: every mapped copy of the library must be the module's.
            var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("/libe_sqlite3.", StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf('/'))..]).Distinct().ToList();
            Require(mapped.Count == 1 && mapped[0] == path, $"mapped e_sqlite3 files: {string.Join(", ", mapped)}");
        }
        return $"e_sqlite3 from {path}";
    }

    private object NewMachine()
    {
        var settings = Activator.CreateInstance(module.CoreType("Provisioning.Core.Testbeds.ConnectionSettings"))!;
        return Activator.CreateInstance(module.CoreType("Provisioning.Core.Testbeds.AgentMachine"),
            "node1", "127.0.0.1", 0, Array.Empty<string>(), settings, null)!;
    }

    private void RequireFromDependencies(Assembly assembly) =>
        Require(assembly.Location.StartsWith(Path.Combine(module.Folder, "dependencies") + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && AssemblyLoadContext.GetLoadContext(assembly) == module.Dependencies,
            $"{assembly.GetName().Name} came from {assembly.Location} ({AssemblyLoadContext.GetLoadContext(assembly)?.Name})");

    private static void Require(bool condition, string problem)
    {
        if (!condition) throw new InvalidOperationException(problem);
    }
}
