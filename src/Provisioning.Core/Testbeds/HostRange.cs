using System.Globalization;

namespace Provisioning.Core.Testbeds;

/// <summary>
/// Expands host ranges in the ClusterShell style: <c>node[1-20]</c>, <c>node[01-20]</c> (zero-padded),
/// lists <c>n[1,3,5-7]</c>, and several brackets <c>rack[1-2]-n[1-3]</c> (every combination, the first
/// bracket varying slowest).
/// </summary>
/// <remarks>
/// A bound written with leading zeros sets the width: <c>[01-10]</c> gives 01 … 10, <c>[1-10]</c> gives 1 … 10.
/// Names are returned in order and repeats are kept (<c>n[1,1]</c> gives n1 twice), so a caller can report them.
/// </remarks>
public static class HostRange
{
    /// <summary>Expansions larger than this are refused: a typo such as <c>n[1-1000000]</c> must not eat memory.</summary>
    public const int MaxNames = 100_000;

    /// <summary>Expands <paramref name="expression"/>; a name without brackets is returned as is. Throws FormatException for a bad range.</summary>
    public static IReadOnlyList<string> Expand(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var parts = Parse(expression);
        if (parts.Count == 1 && parts[0].Count == 1) return [parts[0][0]];

        long total = 1;
        foreach (var part in parts)
        {
            total *= part.Count;
            if (total > MaxNames)
                throw new FormatException($"The host range '{expression}' expands to more than {MaxNames} names.");
        }

        var names = new List<string>((int)total) { "" };
        foreach (var part in parts)
        {
            if (part.Count == 1)
            {
                for (var i = 0; i < names.Count; i++) names[i] += part[0];
                continue;
            }
            var next = new List<string>(names.Count * part.Count);
            foreach (var prefix in names)
            {
                foreach (var piece in part) next.Add(prefix + piece);
            }
            names = next;
        }
        return names;
    }

    /// <summary>True when <paramref name="expression"/> contains a bracket, that is, is meant as a range.</summary>
    public static bool IsRange(string expression) => expression.AsSpan().IndexOfAny('[', ']') >= 0;

    /// <summary>Splits the expression into literal pieces (one choice) and bracket pieces (one choice per number).</summary>
    private static List<IReadOnlyList<string>> Parse(string expression)
    {
        var parts = new List<IReadOnlyList<string>>();
        var literalStart = 0;
        for (var i = 0; i < expression.Length; i++)
        {
            if (expression[i] == ']')
                throw new FormatException($"The host range '{expression}' has a ']' at position {i + 1} without a matching '['.");
            if (expression[i] != '[') continue;

            var close = expression.IndexOfAny(['[', ']'], i + 1);
            if (close < 0 || expression[close] == '[')
                throw new FormatException($"The host range '{expression}' has a '[' at position {i + 1} that is not closed by ']'.");
            if (i > literalStart) parts.Add([expression[literalStart..i]]);
            parts.Add(ParseBracket(expression, expression[(i + 1)..close]));
            literalStart = close + 1;
            i = close;
        }
        if (literalStart < expression.Length || parts.Count == 0) parts.Add([expression[literalStart..]]);
        return parts;
    }

    private static List<string> ParseBracket(string expression, string content)
    {
        if (content.Length == 0)
            throw new FormatException($"The host range '{expression}' has empty brackets; write a number or a range such as [1-4].");

        var values = new List<string>();
        foreach (var item in content.Split(','))
        {
            var dash = item.IndexOf('-');
            var lowText = dash < 0 ? item : item[..dash];
            var highText = dash < 0 ? item : item[(dash + 1)..];
            if (!IsNumber(lowText) || !IsNumber(highText))
                throw new FormatException($"The host range '{expression}' contains '{item}', which is neither a number nor a range such as 1-20.");

            var low = int.Parse(lowText, CultureInfo.InvariantCulture);
            var high = int.Parse(highText, CultureInfo.InvariantCulture);
            if (low > high)
                throw new FormatException($"The host range '{expression}' contains '{item}', which goes down; write {highText}-{lowText}.");
            if (high - low >= MaxNames)
                throw new FormatException($"The host range '{expression}' expands to more than {MaxNames} names.");

            // Leading zeros on the low bound fix the width, as in ClusterShell and pdsh.
            var width = lowText.Length > 1 && lowText[0] == '0' ? lowText.Length : 0;
            for (var n = low; n <= high; n++)
                values.Add(n.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
        }
        return values;
    }

    private static bool IsNumber(string text) => text.Length is > 0 and <= 9 && text.All(char.IsAsciiDigit);
}
