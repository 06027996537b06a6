using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace Provisioning.Loading;

/// <summary>
/// Runs when pwsh imports the module (and on Remove-Module). It teaches pwsh's default load context to find the
/// engine, Provisioning.Core, in the module's private <see cref="ModuleDependencyLoadContext"/>. Only the engine is
/// bridged: everything the engine needs is then resolved by that context, so third-party versions stay private.
/// It also registers the engine's type names (<see cref="EngineTypeNames"/>), which pwsh cannot otherwise see.
/// </summary>
/// <remarks>
/// Follows "Resolving PowerShell module assembly dependency conflicts" (PowerShell docs). The cmdlets may use types
/// from Provisioning.Core (and the BCL) only, never from a third-party assembly directly: those are not bridged.
/// </remarks>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    // The names the default context may get from the module context. They are unique to this module, so
    // answering for them cannot hijack another module's load.
    private static readonly HashSet<string> BridgedAssemblies = new(StringComparer.OrdinalIgnoreCase) { "Provisioning.Core" };

    private static int _hooked;

    /// <summary>Hooks the default context's Resolving event (once per process, however often the module is imported).</summary>
    public void OnImport()
    {
        if (Interlocked.Exchange(ref _hooked, 1) == 0) AssemblyLoadContext.Default.Resolving += ResolveFromModule;
        EngineTypeNames.Register();
    }

    /// <summary>Unhooks on Remove-Module. Assemblies already loaded stay loaded (the default context cannot unload).</summary>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        EngineTypeNames.Unregister();
        if (Interlocked.Exchange(ref _hooked, 0) == 1) AssemblyLoadContext.Default.Resolving -= ResolveFromModule;
    }

    private static Assembly? ResolveFromModule(AssemblyLoadContext context, AssemblyName name) =>
        name.Name is { } simpleName && BridgedAssemblies.Contains(simpleName)
            ? ModuleDependencyLoadContext.ForModule.LoadFromAssemblyName(name)
            : null;
}
