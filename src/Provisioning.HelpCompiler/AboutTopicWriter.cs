using System.Text;
using System.Text.RegularExpressions;

namespace Provisioning.HelpCompiler;

/// <summary>
/// Turns an about_*.md page into the plain text that <c>Get-Help about_X</c> prints: the front matter goes, the
/// title becomes a TOPIC line, <c>#</c> headings become upper-case lines and deeper ones plain lines, code blocks
/// are indented, tables aligned, and inline marks removed.
/// </summary>
public static partial class AboutTopicWriter
{
    /// <summary>Converts the markdown of <paramref name="path"/> to about-topic text.</summary>
    /// <exception cref="HelpFormatException">The page is malformed (an unclosed front matter or code block).</exception>
    public static string Convert(string path, string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n').Select((text, i) => new SourceLine(i + 1, text)).ToList();
        var (_, start) = CommandPageParser.ReadFrontMatter(path, lines);
        var topic = Path.GetFileNameWithoutExtension(path);
        var output = new List<string>();
        var titleDone = false;

        for (var i = start; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.IsFence)
            {
                var indent = line.Text.Length - line.Text.TrimStart().Length;
                var open = line;
                for (i++; i < lines.Count && !lines[i].IsFence; i++)
                {
                    var text = lines[i].Text;
                    text = text.Length >= indent && string.IsNullOrWhiteSpace(text[..indent]) ? text[indent..] : text.TrimStart();
                    output.Add(text.Length == 0 ? "" : new string(' ', indent + 4) + text);
                }
                if (i >= lines.Count) throw new HelpFormatException(path, open.Number, "a code block (```) is never closed");
                continue;
            }
            if (line.Text.TrimStart().StartsWith('|'))
            {
                var rows = new List<string>();
                for (; i < lines.Count && lines[i].Text.TrimStart().StartsWith('|'); i++) rows.Add(lines[i].Text);
                i--;
                output.AddRange(MarkdownText.Table(rows).Select(r => "    " + r));
                continue;
            }
            if (HeadingPattern().Match(line.Text) is { Success: true } heading)
            {
                var level = heading.Groups["marks"].Length;
                var text = MarkdownText.Plain(heading.Groups["text"].Value);
                if (!titleDone && string.Equals(text, topic, StringComparison.OrdinalIgnoreCase))
                {
                    // PlatyPS's about template repeats the topic name as "# about_X" and "## about_X".
                    if (output.Count == 0) output.AddRange(["TOPIC", "    " + text]);
                    continue;
                }
                titleDone = true;
                if (output.Count > 0 && output[^1].Length > 0) output.Add("");
                output.Add(level == 1 ? text.ToUpperInvariant() : text);
                if (level == 2) output.Add(new string('-', text.Length));
                continue;
            }
            if (!line.IsBlank) titleDone = true;
            output.Add(line.IsBlank ? "" : MarkdownText.Plain(line.Text.TrimEnd()));
        }

        // No runs of blank lines, none at either end.
        var text_ = new StringBuilder();
        var blank = true;
        foreach (var line in output)
        {
            if (line.Length == 0 && blank) continue;
            blank = line.Length == 0;
            text_.Append(line).Append('\n');
        }
        return text_.ToString().TrimEnd('\n') + "\n";
    }

    [GeneratedRegex(@"^(?<marks>#{1,6})\s+(?<text>.*?)\s*#*\s*$")]
    private static partial Regex HeadingPattern();
}
