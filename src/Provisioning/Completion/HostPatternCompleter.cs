using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Provisioning.Completion;

/// <summary>
/// Completes the last term of an Ansible host pattern (<c>server:&amp;rack1:!a2</c>) with role names, machine names
/// and <c>all</c>, keeping what was typed before it.
/// </summary>
public sealed class HostPatternCompleter : IArgumentCompleter
{
    private static readonly char[] Separators = [':', ','];

    /// <summary>The pattern typed so far, its last term completed.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (CompletionTestbed.From(fakeBoundParameters) is not { } testbed) return [];
        var typed = (wordToComplete ?? "").Trim('\'', '"');
        var termStart = typed.LastIndexOfAny(Separators) + 1;
        // An intersection (&) or exclusion (!) mark belongs to the term but stays as typed.
        while (termStart < typed.Length && typed[termStart] is '&' or '!') termStart++;
        var before = typed[..termStart];
        var terms = testbed.Roles.Select(r => (Name: r.Key, ToolTip: $"role {r.Key}: {string.Join(", ", r.Value)}"))
            .Concat(testbed.Machines.Select(m => (m.Name, ToolTip: $"machine {m.Name} ({m.Address}:{m.Port})")))
            .Append((Name: "all", ToolTip: "every machine"));
        return CompletionText.Complete(terms.Select(t => (before + t.Name, t.ToolTip)), typed);
    }
}
