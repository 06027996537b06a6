namespace Provisioning.Core.Testbeds;

/// <summary>Expands host ranges: <c>node[1-20]</c>, <c>node[01-20]</c> (zero-padded), <c>rack[1-2]-n[1-3]</c>.</summary>
public static class HostRange
{
    /// <summary>Expands <paramref name="expression"/>; a name without brackets is returned as is. Throws FormatException for a bad range.</summary>
    public static IReadOnlyList<string> Expand(string expression) => throw new NotImplementedException();
}
