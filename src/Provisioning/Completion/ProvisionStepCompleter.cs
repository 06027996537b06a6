using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Provisioning.Core.Provision;

namespace Provisioning.Completion;

/// <summary>Completes -Step with the step names of the document given with -Path.</summary>
public sealed class ProvisionStepCompleter : IArgumentCompleter
{
    /// <summary>Step names starting with <paramref name="wordToComplete"/>, with their tasks as tooltip.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (fakeBoundParameters?["Path"] is not string path) return [];
        try
        {
            var document = ProvisionDocumentReader.ReadFile(System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(Location(), path));
            return CompletionText.Complete(document.Steps.Select(s => (s.Name, $"{s.Name}: {s.Tasks.Count} tasks{(s.Hosts is null ? "" : " on " + s.Hosts)}")), wordToComplete);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return []; // a document that does not read offers nothing; running it says why
        }
    }

    // The session's location (a nested pipeline: the runspace is busy completing), not the process's directory.
    private static string Location()
    {
        using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
        return ps.AddCommand("Get-Location").Invoke<PathInfo>().FirstOrDefault()?.ProviderPath ?? Environment.CurrentDirectory;
    }
}
