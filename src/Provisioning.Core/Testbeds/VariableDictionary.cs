namespace Provisioning.Core.Testbeds;

/// <summary>Host or template variables. Names are case-insensitive, as PowerShell users expect.</summary>
public sealed class VariableDictionary : Dictionary<string, object?>
{
    /// <summary>An empty dictionary.</summary>
    public VariableDictionary() : base(StringComparer.OrdinalIgnoreCase) { }

    /// <summary>A copy of <paramref name="values"/>.</summary>
    public VariableDictionary(IEnumerable<KeyValuePair<string, object?>> values) : base(StringComparer.OrdinalIgnoreCase)
    {
        foreach (var (k, v) in values) this[k] = v;
    }
}
