using System.Collections;
using System.Globalization;
using HandlebarsDotNet;
using HandlebarsDotNet.IO;

namespace Provisioning.Core.Templating;

/// <summary>
/// How values become text in a rendered template: culture-invariant numbers, <c>true</c>/<c>false</c> in lower
/// case (as YAML and shells write them), lists joined with commas, null as nothing.
/// </summary>
internal sealed class TemplateValueText : IFormatterProvider, IFormatter
{
    /// <summary>Registered with Handlebars for the types whose default text differs from <see cref="Format"/>.</summary>
    public bool TryCreateFormatter(Type type, out IFormatter formatter)
    {
        formatter = this;
        return type == typeof(bool);
    }

    /// <inheritdoc />
    public void Format<T>(T value, in EncodedTextWriter writer) => writer.Write(Format(value), false);

    /// <summary>The text of a value, for helpers that build strings themselves.</summary>
    public static string Format(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary => value.ToString() ?? "",
        IEnumerable items => string.Join(",", Items(items).Select(Format)),
        _ => value.ToString() ?? "",
    };

    /// <summary>The items of a list argument; a string or a single value is a list of one.</summary>
    public static IEnumerable<object?> Items(object? value) => value switch
    {
        null => [],
        string or IDictionary => [value],
        IEnumerable items => items.Cast<object?>(),
        _ => [value],
    };
}
