using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Provisioning.HelpCompiler;

/// <summary>Writes commands' help as MAML, laid out as PlatyPS's New-ExternalHelp lays it out.</summary>
public static class MamlWriter
{
    /// <summary>The <c>maml:</c> namespace.</summary>
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";

    /// <summary>The <c>command:</c> namespace.</summary>
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";

    /// <summary>The <c>dev:</c> namespace.</summary>
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    /// <summary>The <c>MSHelp:</c> namespace.</summary>
    public static readonly XNamespace MSHelp = "http://msdn.microsoft.com/mshelp";

    /// <summary>The root element's namespace.</summary>
    public static readonly XNamespace Msh = "http://msh";

    /// <summary>The whole help file: <c>&lt;helpItems schema="maml"&gt;</c> with one <c>command:command</c> per command.</summary>
    public static XDocument Document(IEnumerable<CommandHelp> commands) =>
        new(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"), commands.Select(Command_)));

    /// <summary>Writes <paramref name="document"/> to <paramref name="path"/> as indented UTF-8.</summary>
    public static void Save(XDocument document, string path)
    {
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", Encoding = new UTF8Encoding(false), NewLineChars = "\n" };
        using var writer = XmlWriter.Create(path, settings);
        document.Save(writer);
    }

    private static XElement Command_(CommandHelp help) =>
        new(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XAttribute(XNamespace.Xmlns + "MSHelp", MSHelp),
            new XElement(Command + "details",
                new XElement(Command + "name", help.Name),
                new XElement(Command + "verb", help.Verb),
                new XElement(Command + "noun", help.Noun),
                Description([help.Synopsis])),
            Description(help.Description),
            new XElement(Command + "syntax", help.Syntax.Select(set =>
                new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", help.Name),
                    help.ParametersOf(set).Select(p => Parameter(p.Parameter, p.Details, inSyntax: true))))),
            new XElement(Command + "parameters", help.Parameters.Select(p => Parameter(p, p.Primary, inSyntax: false))),
            new XElement(Command + "inputTypes", help.Inputs.Select(t => TypeElement("inputType", t))),
            new XElement(Command + "returnValues", help.Outputs.Select(t => TypeElement("returnValue", t))),
            new XElement(Maml + "alertSet",
                new XElement(Maml + "alert", Paragraphs(help.Notes))),
            new XElement(Command + "examples", help.Examples.Select(Example)),
            new XElement(Command + "relatedLinks", Links(help)));

    private static XElement Parameter(ParameterHelp parameter, ParameterSetDetails details, bool inSyntax) =>
        new(Command + "parameter",
            new XAttribute("required", Bool(details.Required)),
            new XAttribute("variableLength", "true"),
            new XAttribute("globbing", Bool(details.Globbing)),
            new XAttribute("pipelineInput", details.PipelineInput),
            new XAttribute("position", details.Position == "Named" ? "named" : details.Position),
            new XAttribute("aliases", details.Aliases.Count == 0 ? "none" : string.Join(", ", details.Aliases)),
            new XElement(Maml + "name", parameter.Name),
            Description(parameter.Description),
            // A switch takes no value: in a syntax line it is "[-Name]", not "[-Name <SwitchParameter>]".
            inSyntax && details.IsSwitch
                ? null
                : new XElement(Command + "parameterValue",
                    new XAttribute("required", Bool(!details.IsSwitch)),
                    new XAttribute("variableLength", "false"),
                    details.Type),
            new XElement(Dev + "type",
                new XElement(Maml + "name", details.Type),
                new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", details.DefaultValue));

    private static XElement TypeElement(string element, TypeHelp type) =>
        new(Command + element,
            new XElement(Dev + "type",
                new XElement(Maml + "name", type.Name)),
            Description(type.Description));

    private static XElement Example(ExampleHelp example) =>
        new(Command + "example",
            new XElement(Maml + "title", $"-------------------------- {example.Title} --------------------------"),
            new XElement(Dev + "code", example.Code),
            new XElement(Dev + "remarks", Paragraphs(example.Remarks)));

    private static IEnumerable<XElement> Links(CommandHelp help)
    {
        if (help.FrontMatter.TryGetValue("online version", out var online) && online.Length > 0)
            yield return Link("Online Version:", online);
        foreach (var link in help.RelatedLinks) yield return Link(link.Text, link.Uri);
    }

    private static XElement Link(string text, string uri) =>
        new(Maml + "navigationLink",
            new XElement(Maml + "linkText", text),
            new XElement(Maml + "uri", uri));

    private static XElement Description(IEnumerable<string> paragraphs) => new(Maml + "description", Paragraphs(paragraphs));

    private static IEnumerable<XElement> Paragraphs(IEnumerable<string> paragraphs)
    {
        var list = paragraphs.ToList();
        return list.Count == 0 ? [new XElement(Maml + "para")] : list.Select(p => new XElement(Maml + "para", p));
    }

    private static string Bool(bool value) => value ? "true" : "false";
}
