using System.Reflection;

namespace Provisioning.Module.Tests;

/// <summary>
/// pwsh enumerates every public type of Provisioning.dll before it runs the module's OnImport, which is what
/// hooks the resolver that finds Provisioning.Core in dependencies/. Loading a type needs the assemblies of its
/// base types, interfaces and value-type fields, so none of those may come from a bridged assembly.
/// </summary>
[Collection(BuiltModuleCollection.Name)]
public sealed class ImportOrderTests(BuiltModule module)
{
    private const BindingFlags AllFields = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    [Fact]
    public void No_public_type_needs_a_dependency_to_load_before_OnImport()
    {
        var offenders = new List<string>();
        foreach (var type in module.Cmdlets.GetExportedTypes())
        {
            for (var t = type.BaseType; t is not null; t = t.BaseType)
                if (FromDependency(t)) offenders.Add($"{type.FullName} derives from {t.FullName}");
            foreach (var i in type.GetInterfaces().Where(FromDependency))
                offenders.Add($"{type.FullName} implements {i.FullName}");
            foreach (var f in type.GetFields(AllFields).Where(f => f.FieldType.IsValueType && FromDependency(f.FieldType)))
                offenders.Add($"{type.FullName}.{f.Name} is a {f.FieldType.FullName}");
        }
        Assert.True(offenders.Count == 0, string.Join(Environment.NewLine, offenders));
    }

    private bool FromDependency(Type t) =>
        t.Assembly != module.Cmdlets && t.Assembly != module.Sma &&
        File.Exists(Path.Combine(module.ModuleDirectory, "dependencies", t.Assembly.GetName().Name + ".dll"));
}
