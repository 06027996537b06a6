using System.Globalization;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>
/// Turns YAML nodes under <c>vars:</c> into .NET values: mappings become <see cref="VariableDictionary"/>,
/// sequences <c>List&lt;object?&gt;</c>, and scalars string, long, double, bool or null.
/// </summary>
/// <remarks>
/// Plain scalars are typed by the YAML 1.2 core schema (<c>true</c>, <c>42</c>, <c>1.5</c>, <c>~</c>), with one
/// deliberate exception: a number whose text would not come back unchanged (<c>1.10</c>, <c>0755</c>, <c>2.0</c>,
/// <c>1e3</c>, <c>+5</c>) stays a string. Variables mostly end up in templates, and a version "1.10" rendered as
/// "1.1" is a silent bug. Quoted scalars and <c>!!str</c> always stay strings; <c>!!int</c>, <c>!!float</c>,
/// <c>!!bool</c> and <c>!!null</c> force a type.
/// </remarks>
internal static partial class YamlValueConverter
{
    private const string StrTag = "tag:yaml.org,2002:str";
    private const string IntTag = "tag:yaml.org,2002:int";
    private const string FloatTag = "tag:yaml.org,2002:float";
    private const string BoolTag = "tag:yaml.org,2002:bool";
    private const string NullTag = "tag:yaml.org,2002:null";

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex CoreInteger();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex CoreFloat();

    /// <summary>Converts <paramref name="node"/>; <paramref name="path"/> names it in errors.</summary>
    public static object? Convert(YamlSourceNode node, string path, string file) => node switch
    {
        YamlSourceMapping mapping => ToDictionary(mapping, path, file),
        YamlSourceSequence sequence => sequence.Items.Select((item, i) => Convert(item, $"{path}[{i}]", file)).ToList(),
        YamlSourceScalar scalar => ToScalar(scalar, path, file),
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.GetType().Name}."),
    };

    /// <summary>A mapping of variables; keys are compared without case, so duplicates that differ only in case are errors.</summary>
    public static VariableDictionary ToDictionary(YamlSourceMapping mapping, string path, string file)
    {
        var result = new VariableDictionary();
        var seen = new Dictionary<string, YamlSourceNode>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyNode, valueNode) in mapping.Entries)
        {
            if (keyNode is not YamlSourceScalar { IsNull: false } key)
                throw new TestbedFormatException(file, keyNode.Start.Line, keyNode.Start.Column, path,
                    $"a variable name must be a single word, not {keyNode.KindDescription}.");
            var keyPath = $"{path}.{key.Value}";
            if (seen.TryGetValue(key.Value, out var first))
                throw new TestbedFormatException(file, key.Start.Line, key.Start.Column, keyPath,
                    $"duplicate variable '{key.Value}' (first set at line {first.Start.Line}, column {first.Start.Column}; names ignore case).");
            seen[key.Value] = key;
            result[key.Value] = Convert(valueNode, keyPath, file);
        }
        return result;
    }

    private static object? ToScalar(YamlSourceScalar scalar, string path, string file)
    {
        var text = scalar.Value;
        if (scalar.Tag.IsEmpty)
        {
            return scalar.Style == YamlDotNet.Core.ScalarStyle.Plain ? ResolvePlain(scalar) : text;
        }
        if (scalar.Tag.IsNonSpecific) return text; // "! 12" is YAML's way of saying "a string".

        object? typed = scalar.Tag.Value switch
        {
            StrTag => text,
            NullTag => null,
            BoolTag => ParseBool(text) is { } b ? b : Invalid(scalar, path, file, "a boolean (true or false)"),
            IntTag => CoreInteger().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                ? l
                : Invalid(scalar, path, file, "an integer"),
            FloatTag => CoreFloat().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? d
                : Invalid(scalar, path, file, "a number"),
            _ => throw new TestbedFormatException(file, scalar.Start.Line, scalar.Start.Column, path,
                $"the tag '{scalar.Tag.Value}' is not supported here; use a plain value, quotes, or !!str, !!int, !!float, !!bool."),
        };
        return typed;
    }

    private static object? ResolvePlain(YamlSourceScalar scalar)
    {
        var text = scalar.Value;
        if (scalar.IsNull) return null;
        if (ParseBool(text) is { } b) return b;
        // Numbers only when the text round-trips, so that rendering the value gives back what was written.
        if (CoreInteger().IsMatch(text)
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
            && l.ToString(CultureInfo.InvariantCulture) == text)
            return l;
        if (CoreFloat().IsMatch(text)
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            && d.ToString(CultureInfo.InvariantCulture) == text)
            return d;
        return text;
    }

    /// <summary>YAML 1.2 core booleans; "yes"/"no" are YAML 1.1 and stay strings.</summary>
    public static bool? ParseBool(string text) => text switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ => null,
    };

    private static object Invalid(YamlSourceScalar scalar, string path, string file, string expected) =>
        throw new TestbedFormatException(file, scalar.Start.Line, scalar.Start.Column, path,
            $"'{scalar.Value}' is tagged {scalar.Tag.Value.Replace("tag:yaml.org,2002:", "!!")} but is not {expected}.");
}
