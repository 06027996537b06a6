using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;

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

    /// <summary>
    /// The steps to run per machine, from each testbed's own journal (a machine of a testbed with no earlier run of
    /// <paramref name="document"/> needs every step); null when no journal has such a run (run everything).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>>? StepsToRun(IReadOnlyCollection<AgentMachine> machines, string document, IReadOnlyList<string> steps)
    {
        ArgumentNullException.ThrowIfNull(machines);
        Dictionary<string, IReadOnlySet<string>>? plan = null;
        foreach (var group in machines.Where(m => m.Testbed is not null).GroupBy(m => m.Testbed!))
        {
            if (!File.Exists(group.Key.JournalPath)) continue;
            using var journal = RunJournal.Open(group.Key.JournalPath);
            if (StepsToRun(journal, document, group.Select(m => m.Name), steps) is not { } part) continue;
            plan ??= new Dictionary<string, IReadOnlySet<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var (host, todo) in part) plan[host] = todo;
        }
        if (plan is null) return null;
        foreach (var m in machines.Where(m => !plan.ContainsKey(m.Name))) plan[m.Name] = steps.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return plan;
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
