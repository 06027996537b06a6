namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>Deep copies of variable values loaded from YAML.</summary>
internal static class VariableCopy
{
    /// <summary>
    /// Copies nested dictionaries and lists, so each machine owns its variables: a later change on one machine
    /// (Set-AgentVariable) must never show up on another that got the same YAML defaults.
    /// </summary>
    public static object? Deep(object? value) => value switch
    {
        VariableDictionary dictionary => Deep(dictionary),
        List<object?> list => list.Select(Deep).ToList(),
        _ => value, // strings, numbers, booleans and null are immutable
    };

    /// <inheritdoc cref="Deep(object?)"/>
    public static VariableDictionary Deep(VariableDictionary dictionary) =>
        new(dictionary.Select(kv => new KeyValuePair<string, object?>(kv.Key, Deep(kv.Value))));
}
