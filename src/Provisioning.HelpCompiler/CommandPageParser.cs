using System.Text.RegularExpressions;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Provisioning.HelpCompiler;

/// <summary>Reads a PlatyPS (schema 2.0.0) command page: front matter, <c># Name</c> and its <c>##</c> sections.</summary>
public static partial class CommandPageParser
{
    private static readonly string[] KnownSections =
        ["SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    /// <summary>Parses the page at <paramref name="path"/>.</summary>
    /// <exception cref="HelpFormatException">The page is malformed; the message names the file and line.</exception>
    public static CommandHelp ParseFile(string path) => Parse(path, File.ReadAllText(path));

    /// <summary>Parses <paramref name="markdown"/>, reporting problems against <paramref name="path"/>.</summary>
    /// <exception cref="HelpFormatException">The page is malformed; the message names the file and line.</exception>
    public static CommandHelp Parse(string path, string markdown)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n').Select((text, i) => new SourceLine(i + 1, text)).ToList();
        HelpFormatException Error(int line, string problem) => new(path, line, problem);

        CheckFences(path, lines);
        var (frontMatter, bodyStart) = ReadFrontMatter(path, lines);

        var titleIndex = lines.FindIndex(bodyStart, l => l.Text.StartsWith("# ", StringComparison.Ordinal));
        if (titleIndex < 0) throw Error(bodyStart < lines.Count ? lines[bodyStart].Number : 1, "no '# <command name>' heading");
        var name = lines[titleIndex].Text[2..].Trim();
        if (!CommandNamePattern().IsMatch(name)) throw Error(lines[titleIndex].Number, $"'{name}' is not a Verb-Noun command name");

        var sections = Split(lines.Skip(titleIndex + 1), "## ");
        foreach (var stray in sections.Where(s => s.Heading is null && s.Body.Any(l => !l.IsBlank)))
            throw Error(stray.Body.First(l => !l.IsBlank).Number, "text before the first '## ' section");
        var named = new Dictionary<string, Block>(StringComparer.Ordinal);
        foreach (var section in sections.Where(s => s.Heading is not null))
        {
            var heading = section.Heading!.Trim();
            if (!KnownSections.Contains(heading))
                throw Error(section.Line, $"unknown section '## {heading}' (expected one of {string.Join(", ", KnownSections)})");
            if (!named.TryAdd(heading, section)) throw Error(section.Line, $"a second '## {heading}' section");
        }

        if (!named.TryGetValue("SYNOPSIS", out var synopsisSection))
            throw Error(lines[titleIndex].Number, $"{name} has no '## SYNOPSIS' section");
        var synopsis = string.Join(" ", MarkdownText.Paragraphs(synopsisSection.Body));
        if (synopsis.Length == 0) throw Error(synopsisSection.Line, "the SYNOPSIS is empty");

        var syntax = named.TryGetValue("SYNTAX", out var syntaxSection) ? ReadSyntax(path, syntaxSection) : [];
        var parameters = named.TryGetValue("PARAMETERS", out var parametersSection) ? ReadParameters(path, parametersSection) : [];
        if (syntax.Count == 0)
            syntax = [new SyntaxSet(SyntaxSetNames.All, false, [], syntaxSection?.Line ?? lines[titleIndex].Number)];
        CheckSets(path, syntax, parameters);

        return new CommandHelp
        {
            SourcePath = path,
            Name = name,
            FrontMatter = frontMatter,
            Synopsis = synopsis,
            Description = named.TryGetValue("DESCRIPTION", out var description) ? MarkdownText.Paragraphs(description.Body) : [],
            Syntax = syntax,
            Parameters = parameters,
            Examples = named.TryGetValue("EXAMPLES", out var examples) ? ReadExamples(path, examples) : [],
            Inputs = named.TryGetValue("INPUTS", out var inputs) ? ReadTypes(path, inputs) : [],
            Outputs = named.TryGetValue("OUTPUTS", out var outputs) ? ReadTypes(path, outputs) : [],
            Notes = named.TryGetValue("NOTES", out var notes) ? MarkdownText.Paragraphs(notes.Body) : [],
            RelatedLinks = named.TryGetValue("RELATED LINKS", out var links) ? ReadLinks(links) : [],
        };
    }

    /// <summary>Reads the <c>---</c> front matter, if any; returns its pairs and the index of the first line after it.</summary>
    internal static (Dictionary<string, string> Pairs, int BodyStart) ReadFrontMatter(string path, IReadOnlyList<SourceLine> lines)
    {
        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (lines.Count == 0 || lines[0].Text.Trim() != "---") return (pairs, 0);
        for (var i = 1; i < lines.Count; i++)
        {
            var text = lines[i].Text;
            if (text.Trim() == "---") return (pairs, i + 1);
            if (string.IsNullOrWhiteSpace(text)) continue;
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) throw new HelpFormatException(path, lines[i].Number, $"front matter line '{text.Trim()}' is not 'key: value'");
            pairs[text[..colon].Trim()] = text[(colon + 1)..].Trim();
        }
        throw new HelpFormatException(path, 1, "the front matter opened with '---' is never closed");
    }

    /// <summary>Fails on a ``` fence that is never closed, naming its line.</summary>
    internal static void CheckFences(string path, IReadOnlyList<SourceLine> lines)
    {
        SourceLine? open = null;
        foreach (var line in lines.Where(l => l.IsFence)) open = open is null ? line : null;
        if (open is { } unclosed) throw new HelpFormatException(path, unclosed.Number, "a code block (```) is never closed");
    }

    private static List<SyntaxSet> ReadSyntax(string path, Block section)
    {
        var sets = new List<SyntaxSet>();
        foreach (var (text, block) in HeadedBlocks(path, section, "SYNTAX", "'### <parameter set>'"))
        {
            var heading = SetHeadingPattern().Match(text.Trim());
            if (!heading.Success) throw new HelpFormatException(path, block.Line, $"'### {text.Trim()}' is not a parameter set name");
            var code = CodeBlocks(block.Body).FirstOrDefault();
            if (code is null) throw new HelpFormatException(path, block.Line, $"parameter set '{heading.Groups["set"].Value}' has no syntax code block");
            var order = SyntaxParameterPattern().Matches(string.Join("\n", code.Lines.Select(l => l.Text)))
                .Select(m => m.Groups["name"].Value).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var set = new SyntaxSet(heading.Groups["set"].Value, heading.Groups["default"].Success, order, block.Line);
            if (sets.Any(s => string.Equals(s.Name, set.Name, StringComparison.OrdinalIgnoreCase)))
                throw new HelpFormatException(path, block.Line, $"parameter set '{set.Name}' appears twice in SYNTAX");
            sets.Add(set);
        }
        return sets;
    }

    private static List<ParameterHelp> ReadParameters(string path, Block section)
    {
        var parameters = new List<ParameterHelp>();
        foreach (var block in Split(section.Body, "### "))
        {
            if (block.Heading is null) continue;
            var heading = block.Heading.Trim();
            if (heading is "CommonParameters" or "WorkflowCommonParameters") continue;
            if (!heading.StartsWith('-') || heading.Length < 2)
                throw new HelpFormatException(path, block.Line, $"'### {heading}' under PARAMETERS is neither '### -Name' nor '### CommonParameters'");
            var name = heading[1..];
            if (parameters.Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
                throw new HelpFormatException(path, block.Line, $"parameter -{name} is documented twice");

            var yaml = CodeBlocks(block.Body).Where(c => c.Language == "yaml").ToList();
            if (yaml.Count == 0) throw new HelpFormatException(path, block.Line, $"parameter -{name} has no ```yaml block");
            var firstYaml = yaml[0].Open.Number;
            parameters.Add(new ParameterHelp
            {
                Name = name,
                Line = block.Line,
                Description = MarkdownText.Paragraphs(block.Body.Where(l => l.Number < firstYaml)),
                Details = yaml.Select(y => ReadYaml(path, name, y)).ToList(),
            });
        }
        return parameters;
    }

    private static ParameterSetDetails ReadYaml(string path, string parameter, CodeBlock yaml)
    {
        var fields = new Dictionary<string, (string Value, int Line)>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in yaml.Lines.Where(l => !l.IsBlank))
        {
            var colon = line.Text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) throw new HelpFormatException(path, line.Number, $"parameter -{parameter}: yaml line '{line.Text.Trim()}' is not 'Field: value'");
            fields[line.Text[..colon].Trim()] = (line.Text[(colon + 1)..].Trim(), line.Number);
        }
        string Field(string key, string fallback) => fields.TryGetValue(key, out var f) && f.Value.Length > 0 ? f.Value : fallback;
        bool Flag(string key)
        {
            var value = Field(key, "False");
            if (bool.TryParse(value, out var flag)) return flag;
            throw new HelpFormatException(path, fields[key].Line, $"parameter -{parameter}: '{key}' is '{value}', not True or False");
        }

        var type = Field("Type", "");
        if (type.Length == 0) throw new HelpFormatException(path, yaml.Open.Number, $"parameter -{parameter}: the yaml block has no Type");
        var sets = Field("Parameter Sets", "(All)");
        var position = Field("Position", "Named");
        if (!position.Equals("Named", StringComparison.OrdinalIgnoreCase) && !int.TryParse(position, out _))
            throw new HelpFormatException(path, fields["Position"].Line, $"parameter -{parameter}: Position '{position}' is neither a number nor Named");
        var aliases = Field("Aliases", "None");
        return new ParameterSetDetails
        {
            Type = type,
            AllSets = sets == "(All)",
            Sets = sets == "(All)" ? [] : List(sets),
            Aliases = aliases.Equals("None", StringComparison.OrdinalIgnoreCase) ? [] : List(aliases),
            Required = Flag("Required"),
            Position = position.Equals("Named", StringComparison.OrdinalIgnoreCase) ? "Named" : position,
            DefaultValue = Field("Default value", "None"),
            PipelineInput = Field("Accept pipeline input", "False"),
            Globbing = Flag("Accept wildcard characters"),
            Line = yaml.Open.Number,
        };
    }

    private static void CheckSets(string path, IReadOnlyList<SyntaxSet> syntax, IReadOnlyList<ParameterHelp> parameters)
    {
        var names = syntax.Select(s => s.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var parameter in parameters)
            foreach (var details in parameter.Details)
                foreach (var set in details.Sets.Where(s => !names.Contains(s)))
                    throw new HelpFormatException(path, details.Line,
                        $"parameter -{parameter.Name} names parameter set '{set}', which SYNTAX does not have ({string.Join(", ", names)})");
        foreach (var set in syntax.Where(s => s.Name != SyntaxSetNames.All))
            foreach (var named in set.ParameterOrder.Where(n => !parameters.Any(p => string.Equals(p.Name, n, StringComparison.OrdinalIgnoreCase) && p.DetailsFor(set.Name) is not null)))
                throw new HelpFormatException(path, set.Line, $"the syntax of set '{set.Name}' shows -{named}, which PARAMETERS does not document in that set");
    }

    private static List<ExampleHelp> ReadExamples(string path, Block section)
    {
        var examples = new List<ExampleHelp>();
        foreach (var (heading, block) in HeadedBlocks(path, section, "EXAMPLES", "'### Example N: title'"))
        {
            var title = heading.Trim();
            var code = CodeBlocks(block.Body).ToList();
            if (code.Count == 0) throw new HelpFormatException(path, block.Line, $"'### {title}' has no code block");
            var first = code[0];
            var before = block.Body.Where(l => l.Number < first.Open.Number);
            var after = block.Body.Where(l => l.Number > first.Close.Number);
            examples.Add(new ExampleHelp(
                title,
                string.Join("\n", first.Lines.Select(l => l.Text)).TrimEnd(),
                [.. MarkdownText.Paragraphs(before), .. MarkdownText.Paragraphs(after)]));
        }
        return examples;
    }

    private static List<TypeHelp> ReadTypes(string path, Block section)
    {
        var types = new List<TypeHelp>();
        foreach (var block in Split(section.Body, "### "))
        {
            if (block.Heading is null)
            {
                // PlatyPS also accepts a bare type name (often "None") without a ### heading.
                var loose = MarkdownText.Paragraphs(block.Body);
                if (loose.Count > 0) types.Add(new TypeHelp(loose[0], loose.Skip(1).ToList()));
                continue;
            }
            var name = MarkdownText.Plain(block.Heading.Trim());
            if (name.Length == 0) throw new HelpFormatException(path, block.Line, "an empty type heading");
            types.Add(new TypeHelp(name, MarkdownText.Paragraphs(block.Body)));
        }
        return types;
    }

    private static List<LinkHelp> ReadLinks(Block section)
    {
        var links = new List<LinkHelp>();
        foreach (var paragraph in MarkdownText.Parse(section.Body).Descendants<ParagraphBlock>())
        {
            var targets = paragraph.Inline?.Descendants<Inline>()
                .Select(i => i switch
                {
                    LinkInline { IsImage: false } link => (Text: MarkdownText.Inline(link.FirstChild, " "), Uri: link.Url ?? ""),
                    AutolinkInline auto => (Text: auto.Url, Uri: auto.Url),
                    _ => default,
                })
                .Where(t => t.Text is not null).ToList() ?? [];
            if (targets.Count == 0)
                links.Add(new LinkHelp(MarkdownText.Inline(paragraph.Inline, " ").Trim(), ""));
            foreach (var (text, uri) in targets)
            {
                var absolute = Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https";
                links.Add(new LinkHelp(text.Trim(), absolute ? uri : ""));
            }
        }
        return links;
    }

    private static List<string> List(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>A heading of the given level and the lines up to the next one (code blocks are never split).</summary>
    private sealed record Block(string? Heading, int Line, List<SourceLine> Body);

    private sealed record CodeBlock(string Language, SourceLine Open, SourceLine Close, List<SourceLine> Lines);

    /// <summary>The '### ' blocks of a section whose every line belongs under such a heading; stray text is an error.</summary>
    private static IEnumerable<(string Heading, Block Block)> HeadedBlocks(string path, Block section, string sectionName, string expectedHeading)
    {
        foreach (var block in Split(section.Body, "### "))
        {
            if (block.Heading is { } heading)
                yield return (heading, block);
            else if (block.Body.Find(l => !l.IsBlank) is { IsBlank: false } stray)
                throw new HelpFormatException(path, stray.Number, $"{sectionName} text outside a {expectedHeading} heading");
        }
    }

    private static List<Block> Split(IEnumerable<SourceLine> lines, string marker)
    {
        var blocks = new List<Block> { new(null, 0, []) };
        var inCode = false;
        foreach (var line in lines)
        {
            if (line.IsFence) inCode = !inCode;
            if (!inCode && line.Text.StartsWith(marker, StringComparison.Ordinal))
                blocks.Add(new Block(line.Text[marker.Length..], line.Number, []));
            else
                blocks[^1].Body.Add(line);
        }
        return blocks;
    }

    private static IEnumerable<CodeBlock> CodeBlocks(IReadOnlyList<SourceLine> lines)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (!lines[i].IsFence) continue;
            var open = lines[i];
            var body = new List<SourceLine>();
            for (i++; i < lines.Count && !lines[i].IsFence; i++) body.Add(lines[i]);
            if (i >= lines.Count) yield break; // unclosed fences are reported by CheckFences
            yield return new CodeBlock(open.Text.Trim().TrimStart('`').Trim().ToLowerInvariant(), open, lines[i], body);
        }
    }

    [GeneratedRegex(@"^[A-Za-z]+-[A-Za-z0-9]+$")]
    private static partial Regex CommandNamePattern();

    [GeneratedRegex(@"^(?<set>\S+)(\s+(?<default>\(Default\)))?$")]
    private static partial Regex SetHeadingPattern();

    [GeneratedRegex(@"(?<=[\s\[])-(?<name>[A-Za-z][A-Za-z0-9_]*)")]
    private static partial Regex SyntaxParameterPattern();
}
