using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using Provisioning.Core.Journal;

namespace Provisioning.Completion;

/// <summary>
/// Completes run ids, newest first, from the journal the command will read: the -JournalPath typed so far (when it
/// is a full path), else the -Testbed typed so far, else the current testbed's.
/// </summary>
public sealed class RunIdCompleter : IArgumentCompleter
{
    // Enough to pick a recent run from; older ones are a Get-ExperimentRun away.
    private const int RunsOffered = 50;

    /// <summary>Run ids starting with <paramref name="wordToComplete"/>, each with its cmdlet, status and start time.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var path = fakeBoundParameters?["JournalPath"] is string typed && Path.IsPathRooted(typed)
            ? typed
            : CompletionTestbed.From(fakeBoundParameters)?.JournalPath;
        // Completion must never create a journal nor fail loudly: a missing or unreadable one offers nothing.
        if (path is null || !File.Exists(path)) return [];
        try
        {
            using var journal = RunJournal.Open(path);
            var runs = journal.GetRuns(RunsOffered)
                .Select(run => (run.Id.ToString(CultureInfo.InvariantCulture),
                    $"{run.Cmdlet} {run.Status} {run.StartTime.LocalDateTime:yyyy-MM-dd HH:mm:ss}"))
                .ToArray();
            return CompletionText.Complete(runs, wordToComplete);
        }
        catch (Exception)
        {
            return [];
        }
    }
}
