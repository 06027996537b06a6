using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Provisioning.Core.Journal;

namespace Provisioning.Completion;

/// <summary>
/// Completes process names from the journal of the testbed the command is about (-Testbed typed so far, else the
/// current one): the processes it has started, stopped or read, the most recent first. No host is asked: completion
/// must answer at once, and a name another controller started is still found by Get-AgentProcess.
/// </summary>
public sealed class ProcessNameCompleter : IArgumentCompleter
{
    private const int NamesOffered = 100;

    /// <summary>Process names starting with <paramref name="wordToComplete"/>.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var path = CompletionTestbed.From(fakeBoundParameters)?.JournalPath;
        // Completion must never create a journal nor fail loudly: a missing or unreadable one offers nothing.
        if (path is null || !File.Exists(path)) return [];
        try
        {
            using var journal = RunJournal.Open(path);
            return CompletionText.Complete(journal.GetProcessNames(NamesOffered).Select(name => (name, $"process {name}")), wordToComplete);
        }
        catch (Exception)
        {
            return [];
        }
    }
}
