using Provisioning.Core.Errors;

namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>
/// The keys of a YAML mapping checked against the ones its schema allows, for every positioned file (testbed files,
/// provision documents): an unknown key gets the closest valid one, a duplicate the place of the first.
/// </summary>
internal static class YamlMappingKeys
{
    /// <summary>The mapping's entries by key; <paramref name="fail"/> builds the error (node, key path, problem).</summary>
    public static Dictionary<string, (YamlSourceScalar Key, YamlSourceNode Value)> Read(YamlSourceMapping mapping, string path, string[] allowedKeys,
        Func<YamlSourceNode, string?, string, TestbedFormatException> fail)
    {
        var result = new Dictionary<string, (YamlSourceScalar, YamlSourceNode)>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in mapping.Entries)
        {
            if (keyNode is not YamlSourceScalar { IsNull: false } key)
                throw fail(keyNode, path == "" ? null : path, $"expected one of the keys {string.Join(", ", allowedKeys)}, not {keyNode.KindDescription}.");
            var keyPath = path == "" ? key.Value : $"{path}.{key.Value}";
            if (!allowedKeys.Contains(key.Value, StringComparer.Ordinal))
            {
                var hint = key.Value == "<<"
                    ? "YAML merge keys ('<<') are not supported; put shared settings under 'defaults:'"
                    : $"unknown key '{key.Value}'{SpellingSuggestion.Hint(key.Value, allowedKeys)}";
                throw fail(key, keyPath, $"{hint}. Valid keys here: {string.Join(", ", allowedKeys)}.");
            }
            if (result.TryGetValue(key.Value, out var first))
                throw fail(key, keyPath, $"duplicate key '{key.Value}'; it is first set at line {first.Item1.Start.Line}, column {first.Item1.Start.Column}.");
            result[key.Value] = (key, valueNode);
        }
        return result;
    }
}
