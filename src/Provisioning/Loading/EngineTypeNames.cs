using System.Management.Automation;
using System.Reflection;
using Provisioning.Core.Testbeds;

namespace Provisioning.Loading;

/// <summary>
/// Makes the engine's public types nameable in PowerShell: <c>[Provisioning.Core.Testbeds.AgentMachine]</c>,
/// <c>-is</c>, <c>-as</c>, <c>Should -BeOfType</c> and <c>catch [Provisioning.Core.Errors.ProvisioningException]</c>.
/// </summary>
/// <remarks>
/// PowerShell resolves a type name only among the assemblies of the default load context, and the engine lives in
/// the module's own context (<see cref="ModuleDependencyLoadContext"/>) so that its third-party dependencies stay
/// private. The fix is a type accelerator per type, under its full name, so a name means exactly the type it says.
/// The accelerator table is not a public API, so if a future pwsh moves it, type names stop resolving and nothing
/// else breaks.
/// </remarks>
internal static class EngineTypeNames
{
    private static readonly Type? Accelerators =
        typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");

    private static readonly List<string> Registered = [];

    /// <summary>The engine's exported types that can hold a value: results, machines, testbeds, enums, exceptions, options.</summary>
    private static IReadOnlyList<Type> PublicEngineTypes()
    {
        var engine = typeof(AgentMachine).Assembly;
        return engine.GetExportedTypes()
            .Where(type => !type.IsNested && !(type.IsAbstract && type.IsSealed)) // static classes hold no values
            .Where(type => !type.IsGenericTypeDefinition && !type.IsInterface)
            .OrderBy(type => type.FullName, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>Registers every engine type under its full name; a name another module already took is left alone.</summary>
    internal static void Register()
    {
        var add = Accelerators?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(Type)]);
        var get = Accelerators?.GetProperty("Get", BindingFlags.Public | BindingFlags.Static);
        if (add is null || get?.GetValue(null) is not IDictionary<string, Type> existing) return;
        lock (Registered)
        {
            foreach (var type in PublicEngineTypes())
            {
                var name = type.FullName!;
                if (existing.ContainsKey(name)) continue;
                add.Invoke(null, [name, type]);
                Registered.Add(name);
            }
        }
    }

    /// <summary>Removes what <see cref="Register"/> added, so a re-import registers the types of the engine it loads.</summary>
    internal static void Unregister()
    {
        var remove = Accelerators?.GetMethod("Remove", BindingFlags.Public | BindingFlags.Static, [typeof(string)]);
        if (remove is null) return;
        lock (Registered)
        {
            foreach (var name in Registered) remove.Invoke(null, [name]);
            Registered.Clear();
        }
    }
}
