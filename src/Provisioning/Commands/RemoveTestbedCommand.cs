using System.Management.Automation;
using Provisioning.Completion;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Errors;
using Provisioning.Pipeline;
using Provisioning.Session;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Closes a testbed's master connections and forgets it; a Local testbed's agents are stopped and their state deleted, a Slurm testbed's allocation released.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "Testbed", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveTestbedCommand : AgentCmdlet
{
    private const string InputObjectSet = "InputObject";
    private const string NameSet = "Name";

    /// <summary>The testbeds to remove, usually from Get-Testbed or New-Testbed; the current testbed when omitted.</summary>
    [Parameter(Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public Testbed[] InputObject { get; set; } = [];

    /// <summary>Names of loaded testbeds to remove; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var testbed in Targets())
        {
            if (!ShouldProcess(Describe(testbed), Action(testbed))) continue;
            try
            {
                Await(testbed.RemoveAsync(StopToken));
                WriteVerbose($"Removed testbed '{testbed.Name}'.");
            }
            catch (Exception ex) when (ex is not RuntimeException)
            {
                WriteError(ErrorRecordFactory.FromException(ex, testbed));
            }
            finally
            {
                // Removal runs at most once per testbed (RemoveAsync is idempotent), so keeping it would only mislead.
                TestbedRegistry.Forget(testbed);
            }
        }
    }

    private IEnumerable<Testbed> Targets()
    {
        if (ParameterSetName == InputObjectSet)
        {
            if (InputObject.Length > 0) return InputObject;
            // A bare Remove-Testbed removes the current testbed, as New-Testbed made it current.
            return new[] { ResolveTestbed(null) };
        }
        var targets = new List<Testbed>();
        foreach (var name in Name)
        {
            var found = TestbedRegistry.Find(name);
            if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                WriteError(ErrorRecordFactory.Create(ErrorKind.TestbedNotFound, $"No testbed named '{name}' is loaded.", name));
            targets.AddRange(found.Where(t => !targets.Contains(t)));
        }
        return targets;
    }

    private static string Describe(Testbed testbed) => $"{testbed.Name} ({testbed.Provider}, {testbed.Machines.Count} machines)";

    private static string Action(Testbed testbed) => testbed.Provider switch
    {
        "Local" => $"Remove testbed: stop its {testbed.Machines.Count} local sshd agents, delete {testbed.StateDirectory} and close its connections",
        "Slurm" when testbed.OwnsAllocation => $"Remove testbed: cancel its job steps and release its Slurm allocation (scancel {testbed.AllocationId})",
        "Slurm" => $"Remove testbed: cancel its job steps (the Slurm allocation {testbed.AllocationId} is not this testbed's and stays)",
        _ => "Remove testbed: close its master connections",
    };
}
