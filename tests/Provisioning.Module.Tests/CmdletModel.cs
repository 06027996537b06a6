using System.Reflection;

namespace Provisioning.Module.Tests;

/// <summary>A cmdlet class as PowerShell sees it, read from attribute data.</summary>
public sealed class CmdletModel
{
    public const string AllSets = "__AllParameterSets";

    public CmdletModel(Type type)
    {
        Type = type;
        var cmdlet = type.GetCustomAttributesData().Single(a => a.AttributeType.Name == "CmdletAttribute");
        Verb = (string)cmdlet.ConstructorArguments[0].Value!;
        Noun = (string)cmdlet.ConstructorArguments[1].Value!;
        DefaultParameterSetName = Named<string>(cmdlet, "DefaultParameterSetName");
        SupportsShouldProcess = Named<bool>(cmdlet, "SupportsShouldProcess");
        OutputTypes = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => m.Value) : [arg.Value])
            .ToList();
        Parameters = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Attributes: p.GetCustomAttributesData()))
            .Where(p => p.Attributes.Any(a => a.AttributeType.Name == "ParameterAttribute"))
            .Select(p => new ParameterModel(p.Property, p.Attributes))
            .ToList();
    }

    public Type Type { get; }
    public string Verb { get; }
    public string Noun { get; }
    public string Name => $"{Verb}-{Noun}";
    public string? DefaultParameterSetName { get; }
    public bool SupportsShouldProcess { get; }
    public IReadOnlyList<object?> OutputTypes { get; }
    public IReadOnlyList<ParameterModel> Parameters { get; }

    /// <summary>Named parameter sets; when there are none, the one implicit set.</summary>
    public IReadOnlyList<string> ParameterSets
    {
        get
        {
            var named = Parameters.SelectMany(p => p.Sets).Select(s => s.SetName).Where(n => n != AllSets).Distinct().Order().ToList();
            return named.Count == 0 ? [AllSets] : named;
        }
    }

    /// <summary>Parameters usable in <paramref name="set"/> with their settings there.</summary>
    public IEnumerable<(ParameterModel Parameter, ParameterSetModel Set)> InSet(string set) =>
        from p in Parameters
        let s = p.Sets.FirstOrDefault(x => x.SetName == set) ?? p.Sets.FirstOrDefault(x => x.SetName == AllSets)
        where s is not null
        select (p, s);

    public override string ToString() => Name;

    internal static T? Named<T>(CustomAttributeData data, string name)
    {
        var arg = data.NamedArguments.FirstOrDefault(a => a.MemberName == name);
        return arg.MemberInfo is null ? default : (T?)arg.TypedValue.Value;
    }
}

/// <summary>One cmdlet parameter.</summary>
public sealed class ParameterModel
{
    public ParameterModel(PropertyInfo property, IList<CustomAttributeData> attributes)
    {
        Property = property;
        Name = property.Name;
        Type = property.PropertyType;
        Aliases = attributes
            .Where(a => a.AttributeType.Name == "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(m => (string)m.Value!) : [(string)arg.Value!])
            .ToList();
        SupportsWildcards = attributes.Any(a => a.AttributeType.Name == "SupportsWildcardsAttribute");
        Sets = attributes.Where(a => a.AttributeType.Name == "ParameterAttribute").Select(a => new ParameterSetModel(
            CmdletModel.Named<string>(a, "ParameterSetName") ?? CmdletModel.AllSets,
            CmdletModel.Named<bool>(a, "Mandatory"),
            a.NamedArguments.Any(n => n.MemberName == "Position") ? CmdletModel.Named<int>(a, "Position") : null,
            CmdletModel.Named<bool>(a, "ValueFromPipeline"),
            CmdletModel.Named<bool>(a, "ValueFromPipelineByPropertyName"))).ToList();
    }

    public PropertyInfo Property { get; }
    public string Name { get; }
    public Type Type { get; }
    public IReadOnlyList<string> Aliases { get; }
    public bool SupportsWildcards { get; }
    public IReadOnlyList<ParameterSetModel> Sets { get; }

    public override string ToString() => Name;
}

/// <summary>A parameter's settings in one parameter set.</summary>
public sealed record ParameterSetModel(string SetName, bool Mandatory, int? Position, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName);
