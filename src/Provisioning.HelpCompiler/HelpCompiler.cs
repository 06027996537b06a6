namespace Provisioning.HelpCompiler;

/// <summary>Compiles a docs folder of PlatyPS markdown into a module's en-US help folder.</summary>
public static class HelpCompiler
{
    /// <summary>The MAML file name PowerShell looks for beside a binary module's cmdlet assembly.</summary>
    public const string MamlFileName = "Provisioning.dll-Help.xml";

    /// <summary>
    /// Reads every command page (every *.md but about_*.md) of <paramref name="docsDirectory"/>, in name order.
    /// </summary>
    /// <exception cref="HelpFormatException">A page is malformed.</exception>
    public static List<CommandHelp> ReadCommands(string docsDirectory) =>
        CommandPages(docsDirectory).Select(CommandPageParser.ParseFile).ToList();

    /// <summary>
    /// Writes <see cref="MamlFileName"/> for the command pages and one about_X.help.txt per about_X.md into
    /// <paramref name="outputDirectory"/>; returns the files written.
    /// </summary>
    /// <exception cref="HelpFormatException">A page is malformed; nothing is written then.</exception>
    public static List<string> Compile(string docsDirectory, string outputDirectory)
    {
        if (!Directory.Exists(docsDirectory)) throw new DirectoryNotFoundException($"The docs folder '{docsDirectory}' does not exist.");
        var commands = ReadCommands(docsDirectory);
        var duplicate = commands.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new HelpFormatException(duplicate.Last().SourcePath, 1, $"{duplicate.Key} is documented by more than one page");
        var abouts = Directory.GetFiles(docsDirectory, "about_*.md").Order(StringComparer.Ordinal)
            .Select(p => (Path: p, Text: AboutTopicWriter.Convert(p, File.ReadAllText(p))))
            .ToList();

        Directory.CreateDirectory(outputDirectory);
        var written = new List<string>();
        var maml = Path.Combine(outputDirectory, MamlFileName);
        MamlWriter.Save(MamlWriter.Document(commands), maml);
        written.Add(maml);
        foreach (var (path, text) in abouts)
        {
            var target = Path.Combine(outputDirectory, Path.GetFileNameWithoutExtension(path) + ".help.txt");
            File.WriteAllText(target, text);
            written.Add(target);
        }
        return written;
    }

    private static IEnumerable<string> CommandPages(string docsDirectory) =>
        Directory.GetFiles(docsDirectory, "*.md")
            .Where(p => !Path.GetFileName(p).StartsWith("about_", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
}
