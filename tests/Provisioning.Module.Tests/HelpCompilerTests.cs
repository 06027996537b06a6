using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Provisioning.HelpCompiler;
using Compiler = Provisioning.HelpCompiler.HelpCompiler;

namespace Provisioning.Module.Tests;

/// <summary>
/// src/Provisioning.HelpCompiler on the real docs/: every cmdlet page becomes a MAML command with its synopsis,
/// examples, parameters and parameter sets, and a malformed page is an error that names its file and line.
/// </summary>
[Collection(BuiltModuleCollection.Name)]
public sealed class HelpCompilerTests(BuiltModule module)
{
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private string Docs => Path.Combine(module.RepositoryRoot, "docs");

    public static TheoryData<string> CmdletNames() => CmdletDocsTests.CmdletNames();

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_command_has_a_synopsis_a_description_and_at_least_two_examples_with_code(string cmdlet)
    {
        var command = Maml_(cmdlet);
        var details = command.Element(Command + "details")!;
        Assert.Equal(cmdlet, details.Element(Command + "name")!.Value);
        Assert.Equal(cmdlet.Split('-')[0], details.Element(Command + "verb")!.Value);
        Assert.Equal(cmdlet.Split('-')[1], details.Element(Command + "noun")!.Value);
        var synopsis = details.Element(Maml + "description")!.Elements(Maml + "para").Select(p => p.Value).ToList();
        Assert.False(string.IsNullOrWhiteSpace(string.Concat(synopsis)), $"{cmdlet}: empty synopsis");
        Assert.DoesNotContain('`', string.Concat(synopsis));
        Assert.Contains(command.Element(Maml + "description")!.Elements(Maml + "para"), p => p.Value.Length > 0);

        var examples = command.Element(Command + "examples")!.Elements(Command + "example").ToList();
        Assert.True(examples.Count >= 2, $"{cmdlet} has {examples.Count} example(s)");
        for (var i = 0; i < examples.Count; i++)
        {
            Assert.Matches($"^-+ Example {i + 1}: \\S.* -+$", examples[i].Element(Maml + "title")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(examples[i].Element(Dev + "code")?.Value), $"{cmdlet} example {i + 1} has no code");
            Assert.DoesNotContain("```", examples[i].Element(Dev + "code")!.Value);
            Assert.NotNull(examples[i].Element(Dev + "remarks"));
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_documented_parameter_is_in_the_parameters_with_its_type(string cmdlet)
    {
        var page = File.ReadAllText(Path.Combine(Docs, cmdlet + ".md")).ReplaceLineEndings("\n");
        // Read the page independently of the compiler: "### -Name", then its yaml block's Type.
        var documented = Regex.Matches(page, @"^### -(\w+)\s*\n.*?```yaml\n.*?^Type: (.+?)\s*$", RegexOptions.Multiline | RegexOptions.Singleline)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.NotEmpty(documented);

        var parameters = Maml_(cmdlet).Element(Command + "parameters")!.Elements(Command + "parameter")
            .ToDictionary(p => p.Element(Maml + "name")!.Value);
        Assert.Equal(documented.Keys.Order(), parameters.Keys.Order());
        foreach (var (name, type) in documented)
        {
            var parameter = parameters[name];
            Assert.Equal(type, parameter.Element(Dev + "type")!.Element(Maml + "name")!.Value);
            Assert.Equal(type, parameter.Element(Command + "parameterValue")!.Value);
            Assert.Contains(parameter.Element(Maml + "description")!.Elements(Maml + "para"), p => p.Value.Length > 0);
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Each_parameter_set_is_a_syntax_item_with_the_sets_parameters(string cmdlet)
    {
        var model = module.CmdletTypes.Single(c => c.Name == cmdlet);
        var help = CommandPageParser.ParseFile(Path.Combine(Docs, cmdlet + ".md"));
        var items = Maml_(cmdlet).Element(Command + "syntax")!.Elements(Command + "syntaxItem").ToList();
        Assert.Equal(model.ParameterSets.Count, items.Count);
        Assert.Equal(model.ParameterSets.Order(), help.Syntax.Select(s => s.Name).Order());

        for (var i = 0; i < items.Count; i++)
        {
            var set = help.Syntax[i].Name;
            Assert.Equal(cmdlet, items[i].Element(Maml + "name")!.Value);
            var shown = items[i].Elements(Command + "parameter").ToDictionary(p => p.Element(Maml + "name")!.Value);
            var expected = model.InSet(set).ToDictionary(p => p.Parameter.Name, p => p.Set);
            var names = expected.Keys.ToList();
            if (model.SupportsShouldProcess) names.AddRange(["WhatIf", "Confirm"]);
            Assert.Equal(names.Order(), shown.Keys.Order());
            foreach (var (name, settings) in expected)
            {
                var where = $"{cmdlet} [{set}] -{name}";
                Assert.True(shown[name].Attribute("required")!.Value == (settings.Mandatory ? "true" : "false"), $"{where}: required");
                Assert.True(shown[name].Attribute("position")!.Value == (settings.Position?.ToString() ?? "named"), $"{where}: position");
                // A switch shows as [-Name], a value parameter as -Name <Type>.
                var isSwitch = model.Parameters.Single(p => p.Name == name).Type.Name == "SwitchParameter";
                Assert.True(isSwitch == (shown[name].Element(Command + "parameterValue") is null), $"{where}: parameterValue");
            }
        }
    }

    [Fact]
    public void The_built_module_has_the_compiled_help_and_about_topic()
    {
        var help = Path.Combine(module.ModuleDirectory, "en-US");
        var maml = XDocument.Load(Path.Combine(help, "Provisioning.dll-Help.xml"));
        Assert.Equal(XName.Get("helpItems", "http://msh"), maml.Root!.Name);
        Assert.Equal("maml", maml.Root.Attribute("schema")!.Value);
        Assert.Equal(
            module.CmdletTypes.Select(c => c.Name).Order(),
            maml.Root.Elements(Command + "command").Select(c => c.Element(Command + "details")!.Element(Command + "name")!.Value).Order());

        var about = File.ReadAllText(Path.Combine(help, "about_Provisioning.help.txt"));
        Assert.StartsWith("TOPIC\n    about_Provisioning\n", about);
        Assert.Contains("\nSHORT DESCRIPTION\n", about);
        Assert.DoesNotContain("```", about);
        Assert.DoesNotMatch(@"\*\*\w", about); // no **bold** left (a literal *** is fine)
        Assert.DoesNotContain("external help file", about);
    }

    [Fact]
    public void Inline_markdown_becomes_plain_text_and_list_items_stay_paragraphs()
    {
        Assert.Equal("Use -Path and Run a b.", MarkdownText.Plain("Use `-Path` and **Run** [a](a.md) b."));
        Assert.Equal(
            ["Intro over two lines.", "- one item over two lines", "- two", "After."],
            MarkdownText.Paragraphs(Lines("Intro over", "two lines.", "", "- one item", "  over two lines", "- two", "", "After.")));
    }

    [Fact]
    public void Code_spans_over_lines_numbered_items_code_blocks_and_tables_become_paragraphs()
    {
        Assert.Equal(
            ["Run `a` over b.", "1. first", "2) second", "  x = 1\ny", "Name   Use\n-----  ----------\n-Path  where, a|b"],
            MarkdownText.Paragraphs(Lines(
                "Run ``` `a` ``` over", "b.", "", "1. first", "", "2) second", "", "```text", "  x = 1", "y", "```", "",
                "| Name | Use |", "|---|---|", "| `-Path` | *where*, a\\|b |")));
    }

    public static TheoryData<string, string, string> MalformedPages() => new()
    {
        { "no synopsis", Page().Replace("## SYNOPSIS\nDoes a thing.\n\n", ""), "no '## SYNOPSIS' section" },
        { "example without code", Page().Replace("```powershell\nPS> Test-Thing -Name x\n```\n", "Just words.\n"), "has no code block" },
        { "parameter without yaml", Page().Replace("```yaml\nType: String\n", "```\nType: String\n"), "parameter -Name has no ```yaml block" },
    };

    [Theory]
    [MemberData(nameof(MalformedPages))]
    public void A_malformed_page_fails_naming_the_file_and_line(string what, string markdown, string problem)
    {
        using var docs = new TempDocs();
        var path = docs.Write("Test-Thing.md", markdown);
        var expectedLine = ExpectedLine(what, markdown);

        var error = Assert.Throws<HelpFormatException>(() => Compiler.Compile(docs.Path, System.IO.Path.Combine(docs.Path, "out")));
        Assert.Equal(path, error.Path);
        Assert.Equal(expectedLine, error.Line);
        Assert.Contains(problem, error.Message);
        Assert.StartsWith($"{path}({expectedLine}): ", error.Message);
        Assert.False(Directory.Exists(System.IO.Path.Combine(docs.Path, "out")), "nothing is written for a malformed page");
    }

    [Fact]
    public void The_compiler_program_fails_with_the_file_and_line_on_stderr()
    {
        using var docs = new TempDocs();
        var path = docs.Write("Test-Thing.md", Page().Replace("## SYNOPSIS\nDoes a thing.\n\n", ""));
        var compiler = System.IO.Path.Combine(AppContext.BaseDirectory, "Provisioning.HelpCompiler.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[] { compiler, docs.Path, System.IO.Path.Combine(docs.Path, "out") }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        Assert.Equal(1, process.ExitCode);
        Assert.Contains($"{path}(7): error HELP001: Test-Thing has no '## SYNOPSIS' section", stderr);
    }

    [Fact]
    public void The_well_formed_sample_page_compiles()
    {
        using var docs = new TempDocs();
        docs.Write("Test-Thing.md", Page());
        docs.Write("about_Thing.md", "# about_Thing\n## about_Thing\n\n# SHORT DESCRIPTION\nA `thing`, **really**.\n\n| A | B |\n|---|---|\n| `x` | y |\n");
        var written = Compiler.Compile(docs.Path, System.IO.Path.Combine(docs.Path, "out"));
        Assert.Equal(["Provisioning.dll-Help.xml", "about_Thing.help.txt"], written.Select(System.IO.Path.GetFileName));
        Assert.Equal("TOPIC\n    about_Thing\n\nSHORT DESCRIPTION\nA thing, really.\n\n    A  B\n    -  -\n    x  y\n", File.ReadAllText(written[1]));
        var command = XDocument.Load(written[0]).Root!.Element(Command + "command")!;
        Assert.Equal("Does a thing.", command.Element(Command + "details")!.Element(Maml + "description")!.Value);
        Assert.Equal("PS> Test-Thing -Name x", command.Descendants(Dev + "code").Single().Value);
        Assert.Equal("Name", command.Element(Command + "parameters")!.Element(Command + "parameter")!.Element(Maml + "name")!.Value);
    }

    private XElement Maml_(string cmdlet)
    {
        var help = CommandPageParser.ParseFile(Path.Combine(Docs, cmdlet + ".md"));
        var document = MamlWriter.Document([help]);
        return Assert.Single(document.Root!.Elements(Command + "command"));
    }

    private static int ExpectedLine(string what, string markdown)
    {
        var lines = markdown.Split('\n');
        string heading = what switch
        {
            "no synopsis" => "# Test-Thing",
            "example without code" => "### Example 1: Do it",
            _ => "### -Name",
        };
        return Array.IndexOf(lines, heading) + 1;
    }

    private static List<SourceLine> Lines(params string[] lines) => lines.Select((l, i) => new SourceLine(i + 1, l)).ToList();

    private static string Page() => """
        ---
        external help file: Provisioning.dll-Help.xml
        Module Name: Provisioning
        schema: 2.0.0
        ---

        # Test-Thing

        ## SYNOPSIS
        Does a thing.

        ## SYNTAX

        ### __AllParameterSets
        ```
        Test-Thing [-Name] <String> [<CommonParameters>]
        ```

        ## DESCRIPTION
        Does a `thing`.

        ## EXAMPLES

        ### Example 1: Do it
        ```powershell
        PS> Test-Thing -Name x
        ```

        It is done.

        ## PARAMETERS

        ### -Name
        The name.

        ```yaml
        Type: String
        Parameter Sets: (All)
        Aliases:

        Required: True
        Position: 0
        Default value: None
        Accept pipeline input: False
        Accept wildcard characters: False
        ```

        ### CommonParameters
        This cmdlet supports the common parameters.

        ## INPUTS

        ### None

        ## OUTPUTS

        ### System.Object
        Things.

        ## NOTES

        ## RELATED LINKS

        [about_Thing](about_Thing.md)
        """.ReplaceLineEndings("\n");

    private sealed class TempDocs : IDisposable
    {
        public TempDocs() => Directory.CreateDirectory(Path);

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "prov-help-" + Guid.NewGuid().ToString("N"));

        public string Write(string name, string text)
        {
            var path = System.IO.Path.Combine(Path, name);
            File.WriteAllText(path, text);
            return path;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
