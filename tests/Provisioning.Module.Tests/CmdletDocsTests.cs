using System.Text.RegularExpressions;

namespace Provisioning.Module.Tests;

/// <summary>docs/&lt;Verb-Noun&gt;.md (PlatyPS markdown) must stay in step with the code.</summary>
[Collection(BuiltModuleCollection.Name)]
public sealed class CmdletDocsTests(BuiltModule module)
{
    private static readonly string[] Sections = ["SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"];

    public static TheoryData<string> CmdletNames()
    {
        using var module = new BuiltModule();
        return new TheoryData<string>(module.CmdletTypes.Select(c => c.Name));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_page_has_the_PlatyPS_layout(string cmdlet)
    {
        var page = Page(cmdlet);
        Assert.StartsWith("---\n", page);
        var frontMatter = page[4..page.IndexOf("\n---\n", 4, StringComparison.Ordinal)];
        Assert.Contains("external help file: Provisioning.dll-Help.xml", frontMatter);
        Assert.Contains("Module Name: Provisioning", frontMatter);
        Assert.Contains("schema: 2.0.0", frontMatter);
        Assert.Contains($"\n# {cmdlet}\n", page);
        var headings = Regex.Matches(page, "^## (.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();
        Assert.Equal(Sections, headings);
        Assert.False(string.IsNullOrWhiteSpace(Section(page, "SYNOPSIS")), "empty SYNOPSIS");
        Assert.False(string.IsNullOrWhiteSpace(Section(page, "DESCRIPTION")), "empty DESCRIPTION");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_page_has_at_least_two_numbered_examples(string cmdlet)
    {
        var examples = Regex.Matches(Section(Page(cmdlet), "EXAMPLES"), @"^### Example (\d+): \S.*$", RegexOptions.Multiline)
            .Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.True(examples.Count >= 2, $"{cmdlet} has {examples.Count} example(s)");
        Assert.Equal(Enumerable.Range(1, examples.Count), examples);
        Assert.Contains("```powershell", Section(Page(cmdlet), "EXAMPLES"));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void The_syntax_lists_every_parameter_set(string cmdlet)
    {
        var model = module.CmdletTypes.Single(c => c.Name == cmdlet);
        var syntax = Section(Page(cmdlet), "SYNTAX");
        var documented = Regex.Matches(syntax, @"^### (\S+)( \(Default\))?\s*$", RegexOptions.Multiline)
            .Select(m => (Set: m.Groups[1].Value, Default: m.Groups[2].Success)).ToList();
        Assert.Equal(model.ParameterSets.Order(), documented.Select(d => d.Set).Order());
        if (model.ParameterSets.Count > 1)
            Assert.Equal(model.DefaultParameterSetName, Assert.Single(documented, d => d.Default).Set);
        foreach (var set in model.ParameterSets)
            foreach (var (parameter, _) in model.InSet(set))
                Assert.Contains($"-{parameter.Name}", SyntaxBlock(syntax, set));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_parameter_is_documented_and_nothing_else(string cmdlet)
    {
        var model = module.CmdletTypes.Single(c => c.Name == cmdlet);
        var expected = model.Parameters.Select(p => p.Name).ToList();
        if (model.SupportsShouldProcess) expected.AddRange(["WhatIf", "Confirm"]);
        var parameters = Section(Page(cmdlet), "PARAMETERS");
        // PlatyPS run under PowerShell 7.4+ also documents the common -ProgressAction; that is fine.
        var documented = Regex.Matches(parameters, @"^### -(\w+)\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
            .Where(p => p != "ProgressAction").ToList();
        Assert.Equal(expected.Order(), documented.Order());
        Assert.Contains("### CommonParameters", parameters);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Parameter_details_match_the_code(string cmdlet)
    {
        var model = module.CmdletTypes.Single(c => c.Name == cmdlet);
        var parameters = Section(Page(cmdlet), "PARAMETERS");
        foreach (var parameter in model.Parameters)
        {
            var blocks = Regex.Matches(Subsection(parameters, "-" + parameter.Name), "```yaml\n(.*?)```", RegexOptions.Singleline)
                .Select(m => Fields(m.Groups[1].Value)).ToList();
            Assert.True(blocks.Count > 0, $"{cmdlet} -{parameter.Name} has no yaml block");
            foreach (var fields in blocks)
            {
                var where = $"{cmdlet} -{parameter.Name}";
                Assert.True(fields.GetValueOrDefault("Type") == DisplayName(parameter.Type), $"{where}: Type is '{fields.GetValueOrDefault("Type")}', code says '{DisplayName(parameter.Type)}'");
                Assert.True(SameList(fields.GetValueOrDefault("Aliases"), parameter.Aliases), $"{where}: Aliases");
                Assert.True(fields.GetValueOrDefault("Accept pipeline input") == Pipeline(parameter), $"{where}: 'Accept pipeline input' should be '{Pipeline(parameter)}'");
                Assert.True(fields.GetValueOrDefault("Accept wildcard characters") == (parameter.SupportsWildcards ? "True" : "False"), $"{where}: 'Accept wildcard characters'");
                var sets = fields.GetValueOrDefault("Parameter Sets") ?? "";
                var required = fields.GetValueOrDefault("Required");
                var position = fields.GetValueOrDefault("Position");
                foreach (var set in parameter.Sets.Where(s => sets == "(All)" || sets.Split(',', StringSplitOptions.TrimEntries).Contains(s.SetName)))
                {
                    Assert.True(required == (set.Mandatory ? "True" : "False"), $"{where} [{set.SetName}]: Required");
                    Assert.True(position == (set.Position?.ToString() ?? "Named"), $"{where} [{set.SetName}]: Position is '{position}'");
                }
            }
        }
    }

    [Fact]
    public void About_Provisioning_exists_and_covers_the_concepts()
    {
        var about = File.ReadAllText(Path.Combine(module.RepositoryRoot, "docs", "about_Provisioning.md")).ReplaceLineEndings("\n");
        foreach (var topic in new[] { "testbed", "defaults:", "hosts:", "roles:", "{{", "quote", "pattern", "journal", "FullyQualifiedErrorId" })
            Assert.Contains(topic, about, StringComparison.OrdinalIgnoreCase);
    }

    private string Page(string cmdlet)
    {
        var path = Path.Combine(module.RepositoryRoot, "docs", cmdlet + ".md");
        Assert.True(File.Exists(path), $"missing {path}");
        return File.ReadAllText(path).ReplaceLineEndings("\n");
    }

    private static string Section(string page, string heading)
    {
        var match = Regex.Match(page, $@"^## {Regex.Escape(heading)}\s*\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(match.Success, $"no '## {heading}' section");
        return match.Groups[1].Value;
    }

    private static string Subsection(string section, string heading)
    {
        var match = Regex.Match(section, $@"^### {Regex.Escape(heading)}\s*\n(.*?)(?=^### |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(match.Success, $"no '### {heading}'");
        return match.Groups[1].Value;
    }

    private static string SyntaxBlock(string syntax, string set)
    {
        var match = Regex.Match(syntax, $@"^### {Regex.Escape(set)}( \(Default\))?\s*\n```\n(.*?)```", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(match.Success, $"no syntax block for set {set}");
        return match.Groups[2].Value;
    }

    private static Dictionary<string, string> Fields(string yaml) =>
        yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());

    private static bool SameList(string? documented, IReadOnlyList<string> actual)
    {
        var list = string.IsNullOrWhiteSpace(documented) || documented == "None"
            ? []
            : documented.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return list.Order(StringComparer.OrdinalIgnoreCase).SequenceEqual(actual.Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
    }

    private static string Pipeline(ParameterModel parameter)
    {
        var byValue = parameter.Sets.Any(s => s.ValueFromPipeline);
        var byName = parameter.Sets.Any(s => s.ValueFromPipelineByPropertyName);
        return (byValue, byName) switch
        {
            (true, true) => "True (ByPropertyName, ByValue)",
            (true, false) => "True (ByValue)",
            (false, true) => "True (ByPropertyName)",
            _ => "False",
        };
    }

    // PlatyPS writes the type's short name (String[], SwitchParameter, Int32, Hashtable, AgentMachine[]).
    private static string DisplayName(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1" ? type.GetGenericArguments()[0].Name : type.Name;
}
