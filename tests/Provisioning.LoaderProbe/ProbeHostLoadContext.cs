using System.Reflection;
using System.Runtime.Loader;

namespace Provisioning.LoaderProbe;

/// <summary>
/// Stands in for pwsh's load context: it holds Provisioning.dll and nothing else. Everything it does not load
/// itself falls through to this app's default context, whose deps.json knows nothing of the module's dependencies.
/// Like the module's initializer in pwsh, it bridges only Provisioning.Core to the module's private context.
/// </summary>
internal sealed class ProbeHostLoadContext : AssemblyLoadContext
{
    private readonly Func<AssemblyLoadContext?> _moduleContext;

    public ProbeHostLoadContext(Func<AssemblyLoadContext?> moduleContext)
        : base("LoaderProbe.Host", isCollectible: false)
    {
        _moduleContext = moduleContext;
        Resolving += (_, name) => name.Name == "Provisioning.Core" ? _moduleContext()?.LoadFromAssemblyName(name) : null;
    }

    protected override Assembly? Load(AssemblyName assemblyName) => null;
}
