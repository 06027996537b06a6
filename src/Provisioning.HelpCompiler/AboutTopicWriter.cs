using System.Text;
using Markdig.Extensions.Tables;
using Markdig.Syntax;

namespace Provisioning.HelpCompiler;

/// <summary>
/// Turns an about_*.md page into the plain text that <c>Get-Help about_X</c> prints: the front matter goes, the
/// title becomes a TOPIC line, <c>#</c> headings become upper-case lines and deeper ones plain lines, code blocks
/// are indented, tables aligned, and inline marks removed. Paragraphs keep their source line breaks.
/// </summary>
public static class AboutTopicWriter
{
    /// <summary>Converts the markdown of <paramref name="path"/> to about-topic text.</summary>
    /// <exception cref="HelpFormatException">The page is malformed (an unclosed front matter or code block).</exception>
    public static string Convert(string path, string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n').Select((text, i) => new SourceLine(i + 1, text)).ToList();
        CommandPageParser.CheckFences(path, lines);
        var (_, start) = CommandPageParser.ReadFrontMatter(path, lines);
        var body = lines.Skip(start).ToList();
        var writer = new Writer(Path.GetFileNameWithoutExtension(path), body);
        writer.Blocks(MarkdownText.Parse(body), "");

        // No runs of blank lines, none at either end.
        var text = new StringBuilder();
        var blank = true;
        foreach (var line in writer.Output)
        {
            if (line.Length == 0 && blank) continue;
            blank = line.Length == 0;
            text.Append(line).Append('\n');
        }
        return text.ToString().TrimEnd('\n') + "\n";
    }

    private sealed class Writer(string topic, List<SourceLine> body)
    {
        private bool titleDone;

        public List<string> Output { get; } = [];

        /// <summary>Writes the blocks of <paramref name="container"/>, each line after <paramref name="indent"/>.</summary>
        public void Blocks(ContainerBlock container, string indent, string? firstIndent = null)
        {
            foreach (var block in container)
            {
                // A blank line in the source before a block stays blank.
                if (block.Line > 0 && block.Line <= body.Count && body[block.Line - 1].IsBlank) Output.Add("");
                var first = firstIndent ?? indent;
                firstIndent = null;
                switch (block)
                {
                    case HeadingBlock heading:
                        Heading(heading);
                        break;
                    case Table table:
                        Lines(MarkdownText.Table(table), indent + "    ", indent + "    ");
                        break;
                    case ListBlock list:
                        foreach (var item in list.OfType<ListItemBlock>())
                        {
                            var marker = MarkdownText.ListMarker(list, item);
                            Blocks(item, indent + new string(' ', marker.Length), first + marker);
                            first = indent;
                        }
                        break;
                    case ContainerBlock nested: // block quotes
                        Blocks(nested, indent, first);
                        break;
                    case HtmlBlock html:
                        Lines(MarkdownText.CodeText(html).Split('\n'), first, indent);
                        break;
                    case CodeBlock code:
                        Lines(MarkdownText.CodeText(code).TrimEnd().Split('\n'), first + "    ", indent + "    ");
                        break;
                    case LeafBlock { Inline: { } inline }: // paragraphs
                        Lines(MarkdownText.Inline(inline, "\n").Split('\n').Select(l => l.Trim()), first, indent);
                        break;
                }
                titleDone |= block is not HeadingBlock;
            }
        }

        private void Heading(HeadingBlock heading)
        {
            var text = MarkdownText.Inline(heading.Inline, " ").Trim();
            if (!titleDone && string.Equals(text, topic, StringComparison.OrdinalIgnoreCase))
            {
                // PlatyPS's about template repeats the topic name as "# about_X" and "## about_X".
                if (Output.Count == 0) Output.AddRange(["TOPIC", "    " + text]);
                return;
            }
            titleDone = true;
            if (Output.Count > 0 && Output[^1].Length > 0) Output.Add("");
            Output.Add(heading.Level == 1 ? text.ToUpperInvariant() : text);
            if (heading.Level == 2) Output.Add(new string('-', text.Length));
        }

        private void Lines(IEnumerable<string> lines, string first, string indent)
        {
            var prefix = first;
            foreach (var line in lines)
            {
                Output.Add(line.Length == 0 ? "" : (prefix + line).TrimEnd());
                prefix = indent;
            }
        }
    }
}
