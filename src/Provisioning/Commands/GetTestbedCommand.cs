using System.Management.Automation;
using Provisioning.Completion;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Errors;
using Provisioning.Pipeline;
using Provisioning.Session;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Lists the testbeds loaded in this session, or the current one.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "Testbed", DefaultParameterSetName = NameSet)]
[OutputType(typeof(Testbed))]
public sealed class GetTestbedCommand : AgentCmdlet
{
    private const string NameSet = "Name";
    private const string CurrentSet = "Current";
    private const string InputObjectSet = "InputObject";

    /// <summary>Names of the testbeds to get; wildcards allowed. All when omitted.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Testbed objects, written back as they are now (for example to see whether one was removed).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public Testbed[] InputObject { get; set; } = [];

    /// <summary>Gets only the current testbed (the one commands use by default).</summary>
    [Parameter(Mandatory = true, ParameterSetName = CurrentSet)]
    public SwitchParameter Current { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == CurrentSet)
        {
            var current = TestbedRegistry.Current;
            if (current is null)
                WriteError(ErrorRecordFactory.Create(ErrorKind.TestbedNotFound, "There is no current testbed. Run New-Testbed to load one.", null));
            else
                WriteObject(current);
            return;
        }

        if (ParameterSetName == InputObjectSet)
        {
            foreach (var testbed in InputObject) WriteObject(testbed);
            return;
        }

        if (Name is null)
        {
            foreach (var testbed in TestbedRegistry.All) WriteObject(testbed);
            return;
        }

        var written = new HashSet<Testbed>();
        foreach (var name in Name)
        {
            var found = TestbedRegistry.Find(name);
            if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(ErrorRecordFactory.Create(ErrorKind.TestbedNotFound, $"No testbed named '{name}' is loaded.", name));
            foreach (var testbed in found)
                if (written.Add(testbed)) WriteObject(testbed);
        }
    }
}
