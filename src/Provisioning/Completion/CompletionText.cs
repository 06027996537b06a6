using System.Management.Automation;

namespace Provisioning.Completion;

/// <summary>What the completers share: matching the typed prefix and quoting the result.</summary>
internal static class CompletionText
{
    /// <summary>Completions for <paramref name="candidates"/> that start with <paramref name="wordToComplete"/>.</summary>
    public static IEnumerable<CompletionResult> Complete(IEnumerable<(string Value, string ToolTip)> candidates, string? wordToComplete)
    {
        var typed = (wordToComplete ?? "").Trim('\'', '"');
        var pattern = new WildcardPattern(WildcardPattern.Escape(typed) + "*", WildcardOptions.IgnoreCase);
        return candidates
            .Where(c => pattern.IsMatch(c.Value))
            .DistinctBy(c => c.Value, StringComparer.OrdinalIgnoreCase)
            .Select(c => new CompletionResult(Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.ToolTip));
    }

    private static string Quote(string value) =>
        value.Any(ch => char.IsWhiteSpace(ch) || "$`'\"{}()[];,@#&|<>".Contains(ch))
            ? "'" + value.Replace("'", "''") + "'"
            : value;
}
