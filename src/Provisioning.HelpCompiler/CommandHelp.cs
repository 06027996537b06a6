namespace Provisioning.HelpCompiler;

/// <summary>One cmdlet's help, as read from its PlatyPS markdown page.</summary>
public sealed class CommandHelp
{
    /// <summary>The page the help was read from.</summary>
    public required string SourcePath { get; init; }

    /// <summary>The cmdlet name (<c>Verb-Noun</c>), from the page's <c># Name</c> heading.</summary>
    public required string Name { get; init; }

    /// <summary>The verb part of <see cref="Name"/>.</summary>
    public string Verb => Name.Split('-', 2)[0];

    /// <summary>The noun part of <see cref="Name"/> (empty when the name has no dash).</summary>
    public string Noun => Name.Split('-', 2) is [_, var noun] ? noun : "";

    /// <summary>The front matter's <c>key: value</c> pairs.</summary>
    public IReadOnlyDictionary<string, string> FrontMatter { get; init; } = new Dictionary<string, string>();

    /// <summary>The SYNOPSIS, as plain text.</summary>
    public required string Synopsis { get; init; }

    /// <summary>The DESCRIPTION, one plain-text paragraph per item.</summary>
    public IReadOnlyList<string> Description { get; init; } = [];

    /// <summary>The parameter sets of the SYNTAX section, in page order.</summary>
    public IReadOnlyList<SyntaxSet> Syntax { get; init; } = [];

    /// <summary>The documented parameters (CommonParameters excluded), in page order.</summary>
    public IReadOnlyList<ParameterHelp> Parameters { get; init; } = [];

    /// <summary>The numbered examples.</summary>
    public IReadOnlyList<ExampleHelp> Examples { get; init; } = [];

    /// <summary>The INPUTS types.</summary>
    public IReadOnlyList<TypeHelp> Inputs { get; init; } = [];

    /// <summary>The OUTPUTS types.</summary>
    public IReadOnlyList<TypeHelp> Outputs { get; init; } = [];

    /// <summary>The NOTES, one plain-text paragraph per item.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The RELATED LINKS.</summary>
    public IReadOnlyList<LinkHelp> RelatedLinks { get; init; } = [];

    /// <summary>
    /// The parameters of one parameter set, in the order the set's syntax block names them (parameters the block
    /// does not mention come after, in page order). <c>__AllParameterSets</c> holds every parameter.
    /// </summary>
    public IReadOnlyList<(ParameterHelp Parameter, ParameterSetDetails Details)> ParametersOf(SyntaxSet set)
    {
        var members = Parameters
            .Select(p => (Parameter: p, Details: p.DetailsFor(set.Name)))
            .Where(p => p.Details is not null)
            .Select(p => (p.Parameter, Details: p.Details!))
            .ToList();
        return members
            .OrderBy(m => set.ParameterOrder.IndexOf(m.Parameter.Name) is var i and >= 0 ? i : int.MaxValue)
            .ThenBy(m => members.IndexOf(m))
            .ToList();
    }
}

/// <summary>One <c>### SetName</c> of the SYNTAX section.</summary>
/// <param name="Name">The set's name (<c>__AllParameterSets</c> for a cmdlet with one set).</param>
/// <param name="IsDefault">Whether the heading says <c>(Default)</c>.</param>
/// <param name="ParameterOrder">The parameter names in the order the syntax block shows them.</param>
/// <param name="Line">The heading's line number.</param>
public sealed record SyntaxSet(string Name, bool IsDefault, List<string> ParameterOrder, int Line);

/// <summary>One <c>### -Name</c> of the PARAMETERS section.</summary>
public sealed class ParameterHelp
{
    /// <summary>The parameter's name, without the dash.</summary>
    public required string Name { get; init; }

    /// <summary>The description, one plain-text paragraph per item.</summary>
    public IReadOnlyList<string> Description { get; init; } = [];

    /// <summary>The parameter's yaml blocks: usually one, or one per group of sets that differ.</summary>
    public required IReadOnlyList<ParameterSetDetails> Details { get; init; }

    /// <summary>The heading's line number.</summary>
    public int Line { get; init; }

    /// <summary>The first yaml block: what <c>Get-Help -Parameter</c> shows.</summary>
    public ParameterSetDetails Primary => Details[0];

    /// <summary>The yaml block that covers <paramref name="setName"/>, or null when the parameter is not in that set.</summary>
    public ParameterSetDetails? DetailsFor(string setName) =>
        setName == SyntaxSetNames.All
            ? Primary
            : Details.FirstOrDefault(d => d.AllSets || d.Sets.Contains(setName, StringComparer.OrdinalIgnoreCase));
}

/// <summary>The well-known parameter set names.</summary>
public static class SyntaxSetNames
{
    /// <summary>The name PowerShell gives the one set of a cmdlet that declares none.</summary>
    public const string All = "__AllParameterSets";
}

/// <summary>One ```yaml block of a parameter.</summary>
public sealed class ParameterSetDetails
{
    /// <summary>The <c>Type</c> field, as PlatyPS writes it (<c>String[]</c>, <c>SwitchParameter</c>).</summary>
    public required string Type { get; init; }

    /// <summary>Whether <c>Parameter Sets</c> is <c>(All)</c>.</summary>
    public bool AllSets { get; init; }

    /// <summary>The named sets of <c>Parameter Sets</c> (empty when <see cref="AllSets"/>).</summary>
    public IReadOnlyList<string> Sets { get; init; } = [];

    /// <summary>The aliases (empty for none).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The <c>Required</c> field.</summary>
    public bool Required { get; init; }

    /// <summary>The <c>Position</c> field: a number or <c>Named</c>.</summary>
    public string Position { get; init; } = "Named";

    /// <summary>The <c>Default value</c> field (<c>None</c> when absent).</summary>
    public string DefaultValue { get; init; } = "None";

    /// <summary>The <c>Accept pipeline input</c> field, such as <c>True (ByPropertyName, ByValue)</c>.</summary>
    public string PipelineInput { get; init; } = "False";

    /// <summary>The <c>Accept wildcard characters</c> field.</summary>
    public bool Globbing { get; init; }

    /// <summary>The yaml block's line number.</summary>
    public int Line { get; init; }

    /// <summary>Whether the parameter is a switch, which takes no value.</summary>
    public bool IsSwitch => Type is "SwitchParameter" or "System.Management.Automation.SwitchParameter";
}

/// <summary>One <c>### Example N: title</c>.</summary>
/// <param name="Title">The heading text, such as <c>Example 1: Send a file</c>.</param>
/// <param name="Code">The code block's text.</param>
/// <param name="Remarks">The plain-text paragraphs around the code.</param>
public sealed record ExampleHelp(string Title, string Code, IReadOnlyList<string> Remarks);

/// <summary>One <c>### TypeName</c> of INPUTS or OUTPUTS.</summary>
/// <param name="Name">The type name.</param>
/// <param name="Description">Its plain-text paragraphs.</param>
public sealed record TypeHelp(string Name, IReadOnlyList<string> Description);

/// <summary>One related link.</summary>
/// <param name="Text">The link text.</param>
/// <param name="Uri">An absolute URI, or empty for a link to another help page.</param>
public sealed record LinkHelp(string Text, string Uri);
