using Provisioning.Core.Journal;

namespace Provisioning.Core.Provision;

/// <summary>
/// -Resume: from the journal's last run of the same document, the steps each host still needs: those that failed
/// or never ran there. A host the last run did not include needs every step.
/// </summary>
public static class ProvisionResume
{
    private const string StepWord = " step ";

    /// <summary>How a task's journal detail reads: the document's full path, the step, the task and its status.</summary>
    public static string Detail(string document, ProvisionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return $"{document}{StepWord}{result.Step}: {result.Task}: {result.TaskStatus}{(result.Message.Length > 0 ? " (" + result.Message + ")" : "")}";
    }

    /// <summary>The steps to run per host, or null when the journal has no run of <paramref name="document"/> (run everything).</summary>
    /// <param name="journal">The testbed's journal.</param>
    /// <param name="document">The document's full path.</param>
    /// <param name="hosts">The piped machines' names.</param>
    /// <param name="steps">The steps selected (all the document's, or -Step's).</param>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>>? StepsToRun(RunJournal journal, string document, IEnumerable<string> hosts, IReadOnlyList<string> steps)
    {
        ArgumentNullException.ThrowIfNull(journal);
        var prefix = document + StepWord;
        foreach (var run in journal.GetRuns(last: 200).Where(r => r.Cmdlet == "Invoke-Provision"))
        {
            var records = journal.GetSteps(run.Id).Where(s => s.Step == StepKinds.Provision && s.Detail.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            if (records.Count == 0) continue;
            var done = records.GroupBy(r => (r.Name, Step: StepOf(r.Detail, prefix)))
                .Where(g => g.All(r => r.Succeeded))
                .Select(g => g.Key)
                .ToHashSet();
            return hosts.ToDictionary(h => h, h => (IReadOnlySet<string>)steps.Where(s => !done.Contains((h, s))).ToHashSet(StringComparer.OrdinalIgnoreCase),
                StringComparer.OrdinalIgnoreCase);
        }
        return null;
    }

    private static string StepOf(string detail, string prefix)
    {
        var rest = detail[prefix.Length..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? rest : rest[..colon];
    }
}
