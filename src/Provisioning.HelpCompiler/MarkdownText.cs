using System.Text;
using System.Text.RegularExpressions;

namespace Provisioning.HelpCompiler;

/// <summary>One line of a markdown file, with its 1-based line number.</summary>
/// <param name="Number">The line number.</param>
/// <param name="Text">The line, without its line ending.</param>
public readonly record struct SourceLine(int Number, string Text)
{
    /// <summary>Whether the line is empty or white space.</summary>
    public bool IsBlank => string.IsNullOrWhiteSpace(Text);

    /// <summary>Whether the line opens or closes a fenced code block.</summary>
    public bool IsFence => Text.TrimStart().StartsWith("```", StringComparison.Ordinal);
}

/// <summary>Markdown to the plain text of help: inline marks removed, blocks split into paragraphs.</summary>
public static partial class MarkdownText
{
    /// <summary>
    /// Removes inline markdown: <c>`code`</c> keeps its content, <c>**bold**</c> its text, <c>[text](uri)</c> its text,
    /// <c>&lt;https://…&gt;</c> its address, and backslash escapes their character.
    /// </summary>
    public static string Plain(string text)
    {
        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && char.IsAsciiLetterOrDigit(text[i + 1]) is false && !char.IsWhiteSpace(text[i + 1]))
            {
                result.Append(text[i + 1]);
                i += 2;
            }
            else if (c == '`')
            {
                var run = 0;
                while (i + run < text.Length && text[i + run] == '`') run++;
                var fence = new string('`', run);
                var close = text.IndexOf(fence, i + run, StringComparison.Ordinal);
                if (close < 0)
                {
                    result.Append(fence);
                    i += run;
                    continue;
                }
                var code = text[(i + run)..close];
                if (code.Length > 1 && code[0] == ' ' && code[^1] == ' ') code = code[1..^1];
                result.Append(code);
                i = close + run;
            }
            else if ((c == '*' || c == '_') && i + 1 < text.Length && text[i + 1] == c && Strong(text, i) is { } strong)
            {
                result.Append(Plain(strong.Inner));
                i = strong.End;
            }
            else if (c == '[' && LinkPattern().Match(text, i) is { Success: true } link && link.Index == i)
            {
                result.Append(Plain(link.Groups["text"].Value));
                i += link.Length;
            }
            else if (c == '<' && AutoLinkPattern().Match(text, i) is { Success: true } auto && auto.Index == i)
            {
                result.Append(auto.Groups["uri"].Value);
                i += auto.Length;
            }
            else
            {
                result.Append(c);
                i++;
            }
        }
        return result.ToString();
    }

    /// <summary>
    /// Splits a block of markdown lines into plain-text paragraphs: blank lines end a paragraph and the lines of one
    /// paragraph are joined with spaces; each list item is a paragraph of its own that starts with "- " (or its
    /// number); a fenced code block is a paragraph with its lines as they are; a table is a paragraph of aligned rows.
    /// </summary>
    public static List<string> Paragraphs(IEnumerable<SourceLine> lines)
    {
        var paragraphs = new List<string>();
        var current = new StringBuilder();
        var list = lines.ToList();

        void Flush()
        {
            if (current.Length > 0) paragraphs.Add(current.ToString().Trim());
            current.Clear();
        }

        for (var i = 0; i < list.Count; i++)
        {
            var text = list[i].Text;
            if (list[i].IsBlank)
            {
                Flush();
            }
            else if (list[i].IsFence)
            {
                Flush();
                var indent = text.Length - text.TrimStart().Length;
                var code = new List<string>();
                for (i++; i < list.Count && !list[i].IsFence; i++)
                    code.Add(list[i].Text.Length >= indent && string.IsNullOrWhiteSpace(list[i].Text[..indent]) ? list[i].Text[indent..] : list[i].Text.TrimStart());
                paragraphs.Add(string.Join("\n", code).TrimEnd());
            }
            else if (text.TrimStart().StartsWith('|'))
            {
                Flush();
                var rows = new List<string>();
                for (; i < list.Count && list[i].Text.TrimStart().StartsWith('|'); i++) rows.Add(list[i].Text);
                i--;
                paragraphs.Add(string.Join("\n", Table(rows)));
            }
            else if (ListItemPattern().Match(text) is { Success: true } item)
            {
                Flush();
                var marker = item.Groups["marker"].Value;
                current.Append(char.IsDigit(marker[0]) ? marker + " " : "- ").Append(Plain(item.Groups["text"].Value.Trim()));
            }
            else if (HeadingPattern().Match(text) is { Success: true } heading)
            {
                Flush();
                paragraphs.Add(Plain(heading.Groups["text"].Value.Trim()));
            }
            else
            {
                if (current.Length > 0) current.Append(' ');
                current.Append(Plain(text.Trim()));
            }
        }
        Flush();
        return paragraphs.Where(p => p.Length > 0).ToList();
    }

    /// <summary>Lays a markdown table out as aligned plain-text rows (the |---| row becomes dashes under the header).</summary>
    public static List<string> Table(IReadOnlyList<string> rows)
    {
        var cells = new List<List<string>>();
        var separatorAt = -1;
        foreach (var row in rows)
        {
            var parsed = Cells(row);
            if (parsed.All(c => TableSeparatorPattern().IsMatch(c)))
            {
                if (separatorAt < 0) separatorAt = cells.Count;
                continue;
            }
            cells.Add(parsed.Select(c => Plain(c.Trim())).ToList());
        }
        var columns = cells.Count == 0 ? 0 : cells.Max(r => r.Count);
        var widths = Enumerable.Range(0, columns).Select(c => cells.Max(r => c < r.Count ? r[c].Length : 0)).ToList();
        var lines = new List<string>();
        for (var r = 0; r < cells.Count; r++)
        {
            if (r == separatorAt) lines.Add(string.Join("  ", widths.Select(w => new string('-', w))).TrimEnd());
            lines.Add(string.Join("  ", Enumerable.Range(0, columns).Select(c => (c < cells[r].Count ? cells[r][c] : "").PadRight(widths[c]))).TrimEnd());
        }
        return lines;
    }

    private static List<string> Cells(string row)
    {
        var text = row.Trim();
        if (text.StartsWith('|')) text = text[1..];
        if (text.EndsWith('|') && !text.EndsWith("\\|", StringComparison.Ordinal)) text = text[..^1];
        var cells = new List<string>();
        var cell = new StringBuilder();
        var inCode = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length && text[i + 1] == '|')
            {
                cell.Append('|');
                i++;
            }
            else if (text[i] == '`')
            {
                inCode = !inCode;
                cell.Append('`');
            }
            else if (text[i] == '|' && !inCode)
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else
            {
                cell.Append(text[i]);
            }
        }
        cells.Add(cell.ToString());
        return cells;
    }

    private static (string Inner, int End)? Strong(string text, int start)
    {
        var marks = text.Substring(start, 2);
        if (start + 2 >= text.Length || char.IsWhiteSpace(text[start + 2])) return null;
        var close = text.IndexOf(marks, start + 2, StringComparison.Ordinal);
        if (close < 0 || char.IsWhiteSpace(text[close - 1])) return null;
        return (text[(start + 2)..close], close + 2);
    }

    [GeneratedRegex(@"\[(?<text>[^\]]*)\]\((?<uri>[^)\s]*)(\s+""[^""]*"")?\)")]
    internal static partial Regex LinkPattern();

    [GeneratedRegex(@"<(?<uri>https?://[^>\s]+)>")]
    private static partial Regex AutoLinkPattern();

    [GeneratedRegex(@"^\s*(?<marker>[-*+]|\d+[.)])\s+(?<text>.*)$")]
    private static partial Regex ListItemPattern();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.*?)\s*#*\s*$")]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"^\s*:?-{2,}:?\s*$")]
    private static partial Regex TableSeparatorPattern();
}
