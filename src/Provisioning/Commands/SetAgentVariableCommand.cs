using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Sets template variables on agent machines; they persist on the testbed for the session.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "AgentVariable", DefaultParameterSetName = NameSet)]
[OutputType(typeof(AgentMachine))]
public sealed class SetAgentVariableCommand : AgentCmdlet
{
    private const string NameSet = "Name";
    private const string TableSet = "Table";

    private VariableDictionary? _values;

    /// <summary>The machines to set variables on (machines or names of the current testbed).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>The variable's name (case-insensitive).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The variable's value: any object, including hashtables and other machines.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet)]
    [AllowNull]
    [AllowEmptyString]
    [AllowEmptyCollection]
    public object? Value { get; set; }

    /// <summary>Several variables at once: <c>@{ rate = 10; peer = $server }</c>.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TableSet)]
    [ValidateNotNull]
    public Hashtable Variable { get; set; } = [];

    /// <summary>Writes each machine after setting its variables.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        _values = ParameterSetName == TableSet
            ? EngineValue.FromDictionary(Variable)
            : new VariableDictionary { [Name] = EngineValue.From(Value) };
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var machine in InputObject)
        {
            foreach (var (name, value) in _values!)
            {
                machine.Variables[name] = value;
                WriteVerbose($"{machine.Name}: {name} set.");
            }
            if (PassThru) WriteObject(machine);
        }
    }
}
