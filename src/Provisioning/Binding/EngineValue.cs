using System.Collections;
using System.Management.Automation;
using Provisioning.Core.Testbeds;

namespace Provisioning.Binding;

/// <summary>
/// Converts PowerShell values into plain .NET values for the engine (template variables, host variables).
/// The engine never sees a PSObject: a wrapped value is unwrapped, a [pscustomobject] (whose properties live
/// only in its PSObject) becomes a case-insensitive dictionary, hashtables stay dictionaries and arrays stay lists.
/// </summary>
internal static class EngineValue
{
    /// <summary>The engine-side value of <paramref name="value"/>.</summary>
    public static object? From(object? value) => value switch
    {
        null => null,
        PSObject { BaseObject: PSCustomObject } custom => FromProperties(custom),
        PSObject wrapped => From(wrapped.BaseObject),
        SwitchParameter flag => flag.IsPresent,
        string or AgentMachine or Testbed => value,
        IDictionary dictionary => FromDictionary(dictionary),
        IEnumerable items => items.Cast<object?>().Select(From).ToList(),
        _ => value,
    };

    /// <summary>A case-insensitive copy of <paramref name="table"/> with every value converted.</summary>
    public static VariableDictionary FromDictionary(IDictionary table)
    {
        var result = new VariableDictionary();
        foreach (DictionaryEntry entry in table)
        {
            var key = From(entry.Key)?.ToString() ?? "";
            result[key] = From(entry.Value);
        }
        return result;
    }

    private static VariableDictionary FromProperties(PSObject custom)
    {
        var result = new VariableDictionary();
        foreach (var property in custom.Properties) result[property.Name] = From(property.Value);
        return result;
    }
}
