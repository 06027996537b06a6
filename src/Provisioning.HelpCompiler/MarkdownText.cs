using System.Text;
using Markdig;
using Markdig.Extensions.Tables;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

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

/// <summary>Markdown (parsed by Markdig) to the plain text of help: inline marks removed, blocks split into paragraphs.</summary>
public static class MarkdownText
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().Build();

    /// <summary>Parses markdown with the pipeline help uses (CommonMark and pipe tables).</summary>
    public static MarkdownDocument Parse(string markdown) => Markdown.Parse(markdown, Pipeline);

    /// <summary>Parses a run of markdown lines (line numbers in the result count from the first of them).</summary>
    public static MarkdownDocument Parse(IEnumerable<SourceLine> lines) => Parse(string.Join("\n", lines.Select(l => l.Text)));

    /// <summary>
    /// Removes inline markdown: <c>`code`</c> keeps its content, emphasis its text, <c>[text](uri)</c> its text,
    /// <c>&lt;https://…&gt;</c> its address, and backslash escapes their character.
    /// </summary>
    public static string Plain(string text) => string.Join(" ", Paragraphs(Parse(text)));

    /// <summary>
    /// Splits a block of markdown lines into plain-text paragraphs: the lines of one paragraph are joined with spaces;
    /// each list item is a paragraph of its own that starts with "- " (or its number); a code block is a paragraph
    /// with its lines as they are; a table is a paragraph of aligned rows; a heading is a paragraph of its text.
    /// </summary>
    public static List<string> Paragraphs(IEnumerable<SourceLine> lines) => Paragraphs(Parse(lines));

    private static List<string> Paragraphs(ContainerBlock container)
    {
        var paragraphs = new List<string>();
        void Add(string text)
        {
            if (text.Length > 0) paragraphs.Add(text);
        }
        foreach (var block in container)
        {
            switch (block)
            {
                case Table table:
                    Add(string.Join("\n", Table(table)));
                    break;
                case ListBlock list:
                    foreach (var item in list.OfType<ListItemBlock>())
                    {
                        var inner = Paragraphs(item);
                        var marker = ListMarker(list, item);
                        if (inner.Count == 0 || item.FirstOrDefault() is not ParagraphBlock) inner.Insert(0, "");
                        inner[0] = (marker + inner[0]).TrimEnd();
                        paragraphs.AddRange(inner);
                    }
                    break;
                case ContainerBlock nested: // block quotes
                    paragraphs.AddRange(Paragraphs(nested));
                    break;
                case HtmlBlock html:
                    Add(CodeText(html).Trim());
                    break;
                case CodeBlock code: // fenced or indented
                    Add(CodeText(code).TrimEnd());
                    break;
                case LeafBlock leaf: // paragraphs and headings
                    Add(Inline(leaf.Inline, " ").Trim());
                    break;
            }
        }
        return paragraphs;
    }

    /// <summary>The marker a list item is written with in help: "- " for a bullet, "3. " for the third ordered item.</summary>
    public static string ListMarker(ListBlock list, ListItemBlock item) =>
        list.IsOrdered ? $"{item.Order}{list.OrderedDelimiter} " : "- ";

    /// <summary>The lines of a code block as written, without the fences (and without the fence's indentation).</summary>
    public static string CodeText(LeafBlock code) =>
        string.Join("\n", code.Lines.Lines.Take(code.Lines.Count).Select(l => l.Slice.ToString()));

    /// <summary>The plain text of a run of inlines; soft and hard line breaks become <paramref name="lineBreak"/>.</summary>
    public static string Inline(Inline? inline, string lineBreak)
    {
        var text = new StringBuilder();
        void Walk(Inline? node)
        {
            for (; node is not null; node = node.NextSibling)
            {
                switch (node)
                {
                    case LiteralInline literal: text.Append(literal.Content.ToString()); break;
                    case CodeInline code: text.Append(code.Content); break;
                    case AutolinkInline autolink: text.Append(autolink.Url); break;
                    case LineBreakInline: text.Append(lineBreak); break;
                    case HtmlInline html: text.Append(html.Tag); break;
                    case HtmlEntityInline entity: text.Append(entity.Transcoded.ToString()); break;
                    case ContainerInline container: Walk(container.FirstChild); break; // emphasis, links: their text
                }
            }
        }
        Walk(inline);
        return text.ToString();
    }

    /// <summary>Lays a table out as aligned plain-text rows, with dashes under the header.</summary>
    public static List<string> Table(Table table)
    {
        var rows = table.OfType<TableRow>().ToList();
        var cells = rows.Select(r => r.OfType<TableCell>().Select(c => string.Join(" ", Paragraphs(c))).ToList()).ToList();
        var columns = cells.Count == 0 ? 0 : cells.Max(r => r.Count);
        var widths = Enumerable.Range(0, columns).Select(c => cells.Max(r => c < r.Count ? r[c].Length : 0)).ToList();
        var lines = new List<string>();
        for (var r = 0; r < cells.Count; r++)
        {
            lines.Add(string.Join("  ", Enumerable.Range(0, columns).Select(c => (c < cells[r].Count ? cells[r][c] : "").PadRight(widths[c]))).TrimEnd());
            if (rows[r].IsHeader && (r + 1 == rows.Count || !rows[r + 1].IsHeader))
                lines.Add(string.Join("  ", widths.Select(w => new string('-', w))).TrimEnd());
        }
        return lines;
    }
}
