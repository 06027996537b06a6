using System.Collections;
using System.Management.Automation;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;

namespace Provisioning.Journal;

/// <summary>
/// Turns a cmdlet's bound parameters into what a journal run row keeps: plain strings, numbers, booleans,
/// lists and string-keyed tables (machines and testbeds by name). Plain values only, so the journal can serialize
/// them without walking object graphs. Redaction by name is the journal's (<see cref="SecretNames"/>, at every
/// depth); only what PowerShell alone knows is a secret (a PSCredential) is replaced here.
/// </summary>
internal static class JournalParameters
{
    private const string Redacted = SecretNames.Placeholder;

    /// <summary>The journal form of <paramref name="boundParameters"/>.</summary>
    public static IReadOnlyDictionary<string, object?> From(IDictionary<string, object> boundParameters)
    {
        var result = new SortedDictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in boundParameters)
            result[name] = Plain(value);
        return result;
    }

    private static object? Plain(object? value) => value switch
    {
        null => null,
        PSObject { BaseObject: PSCustomObject } custom => custom.Properties.ToDictionary(
            p => p.Name, p => Plain(p.Value), StringComparer.OrdinalIgnoreCase),
        PSObject wrapped => Plain(wrapped.BaseObject),
        PSCredential or System.Security.SecureString => Redacted,
        SwitchParameter flag => flag.IsPresent,
        string or bool or int or long or double or decimal => value,
        AgentMachine machine => machine.Name,
        Testbed testbed => testbed.Name,
        ScriptBlock block => block.ToString(),
        IDictionary table => Table(table),
        IEnumerable items => items.Cast<object?>().Select(Plain).ToList(),
        _ => value.ToString(),
    };

    private static Dictionary<string, object?> Table(IDictionary table)
    {
        var result = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in table)
        {
            var key = Plain(entry.Key)?.ToString() ?? "";
            result[key] = Plain(entry.Value);
        }
        return result;
    }
}
