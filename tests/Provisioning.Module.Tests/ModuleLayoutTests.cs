using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Provisioning.Module.Tests;

[Collection(BuiltModuleCollection.Name)]
public sealed class ModuleLayoutTests(BuiltModule module)
{
    private static readonly string[] NativeRuntimes = ["linux-x64", "linux-arm64", "linux-musl-x64", "osx-x64", "osx-arm64", "win-x64"];

    [Fact]
    public void System_Management_Automation_is_never_shipped()
    {
        var files = Directory.GetFiles(module.ModuleDirectory, "*", SearchOption.AllDirectories);
        Assert.DoesNotContain(files, f => Path.GetFileName(f).StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void The_root_holds_the_manifest_the_cmdlet_assembly_and_the_format_file_only()
    {
        var root = Directory.GetFiles(module.ModuleDirectory).Select(Path.GetFileName).Order().ToList();
        Assert.Contains("Provisioning.psd1", root);
        Assert.Contains("Provisioning.dll", root);
        Assert.Contains("Provisioning.Format.ps1xml", root);
        Assert.Equal(["Provisioning.dll"], root.Where(f => f!.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)));
        Assert.Equal(
            File.ReadAllText(Path.Combine(module.RepositoryRoot, "Provisioning.psd1")),
            File.ReadAllText(Path.Combine(module.ModuleDirectory, "Provisioning.psd1")));
    }

    [Fact]
    public void Every_dependency_of_the_module_is_in_the_dependencies_folder()
    {
        var dependencies = Path.Combine(module.ModuleDirectory, "dependencies");
        var shipped = Directory.GetFiles(dependencies, "*.dll").Select(f => Path.GetFileNameWithoutExtension(f)!).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.Superset(new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "Provisioning.Core", "YamlDotNet", "Handlebars", "Microsoft.Data.Sqlite", "SQLitePCLRaw.core", "Microsoft.Extensions.FileSystemGlobbing",
        }, shipped);

        // Walk the references from Provisioning.dll: anything that is neither the framework nor PowerShell must ship.
        var framework = Directory.GetFiles(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Select(f => Path.GetFileNameWithoutExtension(f)!).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<Assembly>([module.Cmdlets]);
        while (queue.Count > 0)
        {
            foreach (var reference in queue.Dequeue().GetReferencedAssemblies())
            {
                var name = reference.Name!;
                if (framework.Contains(name) || name is "System.Management.Automation" or "netstandard" || !seen.Add(name)) continue;
                Assert.True(shipped.Contains(name), $"{name} is referenced but not in dependencies/");
                queue.Enqueue(module.Context.LoadFromAssemblyPath(Path.Combine(dependencies, name + ".dll")));
            }
        }
        Assert.Contains("Provisioning.Core", seen);
    }

    [Fact]
    public void The_native_sqlite_library_ships_for_each_platform()
    {
        foreach (var rid in NativeRuntimes)
        {
            var folder = Path.Combine(module.ModuleDirectory, "dependencies", "runtimes", rid, "native");
            Assert.True(Directory.Exists(folder), $"missing {folder}");
            Assert.Contains(Directory.GetFiles(folder), f => Path.GetFileName(f) is "libe_sqlite3.so" or "libe_sqlite3.dylib" or "e_sqlite3.dll");
        }
    }

    [Fact]
    public void One_version_number_is_stamped_on_the_assemblies()
    {
        var manifest = File.ReadAllText(Path.Combine(module.ModuleDirectory, "Provisioning.psd1"));
        var version = Version.Parse(Regex.Match(manifest, @"ModuleVersion\s*=\s*'([0-9.]+)'").Groups[1].Value);
        Assert.Equal(version, Trim(module.Cmdlets.GetName().Version!, version));
        Assert.Equal(version, Trim(module.Core.GetName().Version!, version));
    }

    [Fact]
    public void The_format_file_shows_real_properties_of_real_types()
    {
        var format = XDocument.Load(Path.Combine(module.ModuleDirectory, "Provisioning.Format.ps1xml"));
        var views = format.Descendants("View").ToList();
        Assert.Superset(new HashSet<string>
        {
            "Provisioning.Core.Testbeds.Testbed", "Provisioning.Core.Testbeds.AgentMachine",
            "Provisioning.Core.RemoteCommands.RemoteCommandResult", "Provisioning.Core.Reachability.AgentMachineStatus",
        }, views.SelectMany(v => v.Descendants("TypeName")).Select(t => t.Value).ToHashSet());

        foreach (var view in views)
        {
            var typeName = view.Descendants("TypeName").Single().Value;
            var type = module.Core.GetType(typeName) ?? module.Cmdlets.GetType(typeName);
            Assert.True(type is not null, $"format view for unknown type {typeName}");
            var headers = view.Descendants("TableColumnHeader").Count();
            var items = view.Descendants("TableColumnItem").ToList();
            Assert.Equal(headers, items.Count);
            var members = items.Select(i => i.Element("PropertyName")?.Value)
                .Concat(items.SelectMany(i => Regex.Matches(i.Element("ScriptBlock")?.Value ?? "", @"\$_\.(\w+)").Select(m => m.Groups[1].Value)))
                .OfType<string>();
            foreach (var member in members)
                // A record may hide a base property with its own (a package's Status over the host's); any match will do.
                Assert.True(type!.GetProperties().Any(p => p.Name == member), $"{typeName} has no property '{member}' shown in the format file");
        }
    }

    // AssemblyVersion has four parts; the manifest may have three.
    private static Version Trim(Version assembly, Version like) =>
        like.Build < 0 ? new Version(assembly.Major, assembly.Minor) : like.Revision < 0 ? new Version(assembly.Major, assembly.Minor, assembly.Build) : assembly;
}
