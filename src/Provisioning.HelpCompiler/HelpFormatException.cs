namespace Provisioning.HelpCompiler;

/// <summary>A markdown page that the compiler cannot turn into help; the message names the file and line.</summary>
public sealed class HelpFormatException : Exception
{
    /// <summary>Creates the error for <paramref name="path"/> at <paramref name="line"/>.</summary>
    public HelpFormatException(string path, int line, string problem)
        : base($"{path}({line}): {problem}")
    {
        Path = path;
        Line = line;
        Problem = problem;
    }

    /// <summary>The page.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number the problem is at.</summary>
    public int Line { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
}
