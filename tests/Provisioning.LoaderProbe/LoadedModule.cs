using System.Reflection;
using System.Runtime.Loader;

namespace Provisioning.LoaderProbe;

/// <summary>A module folder loaded as pwsh would load it: Provisioning.dll, then its private dependency context.</summary>
internal sealed class LoadedModule
{
    private LoadedModule(string folder, Assembly cmdlets, AssemblyLoadContext dependencies, Assembly core)
    {
        Folder = folder;
        Cmdlets = cmdlets;
        Dependencies = dependencies;
        Core = core;
    }

    /// <summary>The module folder (holds Provisioning.dll and dependencies/).</summary>
    public string Folder { get; }

    /// <summary>Provisioning.dll, in the probe's host context.</summary>
    public Assembly Cmdlets { get; }

    /// <summary>The module's own ModuleDependencyLoadContext.</summary>
    public AssemblyLoadContext Dependencies { get; }

    /// <summary>Provisioning.Core, as loaded by the module's context.</summary>
    public Assembly Core { get; }

    public static LoadedModule Load(string folder)
    {
        folder = Path.GetFullPath(folder);
        var cmdletsPath = Path.Combine(folder, "Provisioning.dll");
        if (!File.Exists(cmdletsPath)) throw new FileNotFoundException($"No Provisioning.dll in '{folder}'.", cmdletsPath);

        AssemblyLoadContext? dependencies = null;
        var host = new ProbeHostLoadContext(() => dependencies);
        var cmdlets = host.LoadFromAssemblyPath(cmdletsPath);
        // Only the SMA-free context class is touched: System.Management.Automation is not in this process.
        var contextType = cmdlets.GetType("Provisioning.Loading.ModuleDependencyLoadContext", throwOnError: true)!;
        dependencies = (AssemblyLoadContext)contextType.GetProperty("ForModule", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        var core = dependencies.LoadFromAssemblyName(new AssemblyName("Provisioning.Core"));
        return new LoadedModule(folder, cmdlets, dependencies, core);
    }

    /// <summary>A type of Provisioning.Core by full name.</summary>
    public Type CoreType(string fullName) => Core.GetType(fullName, throwOnError: true)!;
}
