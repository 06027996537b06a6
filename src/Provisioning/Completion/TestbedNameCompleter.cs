using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Provisioning.Session;

namespace Provisioning.Completion;

/// <summary>Completes the names of the testbeds loaded in this session.</summary>
public sealed class TestbedNameCompleter : IArgumentCompleter
{
    /// <summary>Testbed names starting with <paramref name="wordToComplete"/>.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        CompletionText.Complete(TestbedRegistry.All.Select(t => (t.Name, t.ToString())), wordToComplete);
}
