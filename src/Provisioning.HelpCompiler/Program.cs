using Provisioning.HelpCompiler;

if (args.Length != 2)
{
    Console.Error.WriteLine("Usage: Provisioning.HelpCompiler <docsDir> <outputDir>");
    return 2;
}

try
{
    var written = HelpCompiler.Compile(Path.GetFullPath(args[0]), Path.GetFullPath(args[1]));
    Console.WriteLine($"Help compiled from {args[0]}: {string.Join(", ", written.Select(Path.GetFileName))}");
    return 0;
}
catch (HelpFormatException e)
{
    // file(line): error ...: the canonical form, so MSBuild's Exec reports it as an error at that place.
    Console.Error.WriteLine($"{e.Path}({e.Line}): error HELP001: {e.Problem}");
    return 1;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"Provisioning.HelpCompiler: error HELP002: {e.Message}");
    return 1;
}
