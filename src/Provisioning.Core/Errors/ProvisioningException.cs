namespace Provisioning.Core.Errors;

/// <summary>
/// The one exception type the engine throws on purpose. It carries an <see cref="ErrorKind"/> and the
/// object the error is about (an <c>AgentMachine</c>, a path, a testbed) so the cmdlet layer can build an
/// accurate ErrorRecord without parsing messages.
/// </summary>
public class ProvisioningException : Exception
{
    /// <summary>Creates an error of the given kind.</summary>
    public ProvisioningException(ErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Target = target;
    }

    /// <summary>What went wrong.</summary>
    public ErrorKind Kind { get; }

    /// <summary>What it went wrong for: a machine, a path, a testbed or null.</summary>
    public object? Target { get; }
}

/// <summary>A testbed file (or provision document) error that knows where in the file it is.</summary>
public sealed class TestbedFormatException : ProvisioningException
{
    /// <summary>Creates an error positioned in <paramref name="file"/>.</summary>
    public TestbedFormatException(string file, long line, long column, string? key, string problem, Exception? inner = null)
        : this(ErrorKind.TestbedFormat, file, line, column, key, problem, inner)
    {
    }

    /// <summary>Creates an error of another positioned file (a provision document: <see cref="ErrorKind.ProvisionFormat"/>).</summary>
    public TestbedFormatException(ErrorKind kind, string file, long line, long column, string? key, string problem, Exception? inner = null)
        : base(kind, Format(file, line, column, key, problem), file, inner)
    {
        File = file;
        Line = line;
        Column = column;
        Key = key;
        Problem = problem;
    }

    /// <summary>The testbed file.</summary>
    public string File { get; }
    /// <summary>1-based line of the offending node.</summary>
    public long Line { get; }
    /// <summary>1-based column of the offending node.</summary>
    public long Column { get; }
    /// <summary>The key at fault, when there is one (for example <c>hosts.node1.port</c>).</summary>
    public string? Key { get; }
    /// <summary>The problem without the position prefix.</summary>
    public string Problem { get; }

    private static string Format(string file, long line, long column, string? key, string problem) =>
        key is null
            ? $"{file}:{line}:{column}: {problem}"
            : $"{file}:{line}:{column}: key '{key}': {problem}";
}
