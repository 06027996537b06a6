using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Provisioning.Completion;

/// <summary>Completes machine names of the testbed given with -Testbed, or of the current testbed.</summary>
public sealed class AgentMachineNameCompleter : IArgumentCompleter
{
    /// <summary>Machine names starting with <paramref name="wordToComplete"/>, with the address as tooltip.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var testbed = CompletionTestbed.From(fakeBoundParameters);
        if (testbed is null) return [];
        return CompletionText.Complete(
            testbed.Machines.Select(m => (m.Name, $"{m.Name} ({m.Address}:{m.Port}) roles: {string.Join(", ", m.Roles)}")),
            wordToComplete);
    }
}
