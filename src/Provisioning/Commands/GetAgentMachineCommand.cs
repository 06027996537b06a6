using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Gets agent machines of the current (or given) testbed, by name, role or Ansible-style host pattern.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "AgentMachine")]
[OutputType(typeof(AgentMachine))]
public sealed class GetAgentMachineCommand : AgentCmdlet
{
    // Across pipeline records, so resuming from journal steps (one per host and step) yields each machine once.
    private readonly HashSet<AgentMachine> _written = [];
    private readonly HashSet<string> _warned = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Machine names; wildcards allowed. Binds by property name (Name, Machine, MachineName, HostName), so
    /// results and journal records can be piped in.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine", "MachineName", "HostName")]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Roles; a machine with any of them is selected.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(RoleNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Role { get; set; }

    /// <summary>An Ansible host pattern: <c>server:client</c> (union), <c>server:&amp;rack1</c> (intersection), <c>server:!a2</c> (exclusion), wildcards.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(HostPatternCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Pattern { get; set; }

    /// <summary>The testbed to select from (object or name); the current testbed when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [TestbedTransformation]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    public Testbed? Testbed { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var testbed = ResolveTestbed(Testbed);
        IEnumerable<AgentMachine> selection = testbed.Machines;

        if (Pattern is not null)
        {
            var matched = InvokeEngine(() => HostPattern.Select(testbed, Pattern), Pattern).ToHashSet();
            selection = selection.Where(matched.Contains);
        }

        if (Role is not null)
        {
            foreach (var role in Role.Where(r => !testbed.Roles.ContainsKey(r)))
                WarnOnce($"Testbed '{testbed.Name}' has no role '{role}'.");
            selection = selection.Where(m => Role.Any(m.HasRole));
        }

        if (Name is not null)
        {
            var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
            foreach (var name in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n) && testbed[n] is null))
                WarnOnce($"Testbed '{testbed.Name}' has no machine named '{name}'.");
            selection = selection.Where(m => patterns.Any(p => p.IsMatch(m.Name)));
        }

        foreach (var machine in selection)
            if (_written.Add(machine)) WriteObject(machine);
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (_written.Count == 0 && _warned.Count == 0)
            WriteWarning("No agent machine matches the selection.");
    }

    private void WarnOnce(string message)
    {
        if (_warned.Add(message)) WriteWarning(message);
    }
}
