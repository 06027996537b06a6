using System.Reflection;
using System.Runtime.InteropServices;

namespace Provisioning.Module.Tests;

/// <summary>
/// The assembled module folder, loaded for inspection only: PowerShell's reference assembly cannot run, so
/// everything here is read through a MetadataLoadContext.
/// </summary>
public sealed class BuiltModule : IDisposable
{
    public BuiltModule()
    {
        RepositoryRoot = Metadata("RepositoryRoot");
        ModuleDirectory = Path.Combine(RepositoryRoot, "module", "Provisioning");
        var cmdletAssemblyPath = Path.Combine(ModuleDirectory, "Provisioning.dll");
        if (!File.Exists(cmdletAssemblyPath))
            throw new InvalidOperationException($"{cmdletAssemblyPath} is missing: building src/Provisioning assembles the module.");

        var referenceSma = Metadata("PowerShellReferenceAssembly");
        var paths = new List<string> { cmdletAssemblyPath, referenceSma };
        paths.AddRange(Directory.GetFiles(Path.Combine(ModuleDirectory, "dependencies"), "*.dll"));
        paths.AddRange(Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Where(p => !Path.GetFileName(p).StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase)));
        Context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        Cmdlets = Context.LoadFromAssemblyPath(cmdletAssemblyPath);
        Core = Context.LoadFromAssemblyName("Provisioning.Core");
        Sma = Context.LoadFromAssemblyPath(referenceSma);
        CmdletTypes = Cmdlets.GetTypes()
            .Where(t => t.GetCustomAttributesData().Any(a => a.AttributeType.FullName == "System.Management.Automation.CmdletAttribute"))
            .Select(t => new CmdletModel(t))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
    }

    public string RepositoryRoot { get; }
    public string ModuleDirectory { get; }
    public MetadataLoadContext Context { get; }
    public Assembly Cmdlets { get; }
    public Assembly Core { get; }
    public Assembly Sma { get; }
    public IReadOnlyList<CmdletModel> CmdletTypes { get; }

    public Type SmaType(string fullName) => Sma.GetType(fullName, throwOnError: true)!;

    public void Dispose() => Context.Dispose();

    private static string Metadata(string key) =>
        typeof(BuiltModule).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}

[CollectionDefinition(Name)]
public sealed class BuiltModuleCollection : ICollectionFixture<BuiltModule>
{
    public const string Name = "Built module";
}
