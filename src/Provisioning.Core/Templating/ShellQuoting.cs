namespace Provisioning.Core.Templating;

/// <summary>POSIX shell quoting, as the <c>{{ quote x }}</c> template helper does it.</summary>
public static class ShellQuoting
{
    /// <summary>
    /// Wraps <paramref name="value"/> in single quotes, writing each embedded quote as <c>'\''</c>
    /// (<c>it's</c> becomes <c>'it'\''s'</c>). Inside single quotes a POSIX shell expands nothing, so the value
    /// reaches the command as one word, whatever it holds. An empty value becomes <c>''</c>.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "'" + value.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
    }
}
