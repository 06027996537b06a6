using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Execution;
using Provisioning.Core.Processes;
using Provisioning.Core.Testbeds;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// What Get-, Stop-, Wait-AgentProcess and Receive-AgentProcessOutput share: the machines, the process names (piped
/// <c>AgentProcess</c> objects select exactly their own process on their own machine), and the throttle limit.
/// </summary>
public abstract class AgentProcessCmdlet : HostOperationCmdlet
{
    private readonly Dictionary<AgentMachine, List<string>> _piped = [];
    private bool _namesGiven;

    private const string NamePattern = @"^[A-Za-z0-9*?\[\]][A-Za-z0-9._*?\[\]-]{0,63}$";

    /// <summary>Process names; wildcards allowed. Every process when omitted.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidatePattern(NamePattern)]
    [ArgumentCompleter(typeof(ProcessNameCompleter))]
    public string[] Name { get; set; } = ["*"];

    /// <summary>
    /// The process names of piped <c>AgentProcess</c> objects, each for its own machine. A parameter apart from
    /// <see cref="Name"/>, which must not bind the <c>Name</c> (the machine's) of piped machines.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    [ValidateNotNullOrEmpty]
    [ValidatePattern(NamePattern)]
    public string[]? ProcessName { get; set; }

    /// <summary>The machines, usually piped from Get-AgentMachine or Get-AgentProcess (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>How many machines are worked on at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <inheritdoc />
    protected override void BeginProcessing() => _namesGiven = MyInvocation.BoundParameters.ContainsKey(nameof(Name));

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        Collect(InputObject);
        if (_namesGiven || ProcessName is not { } piped) return;
        foreach (var machine in InputObject)
        {
            if (!_piped.TryGetValue(machine, out var names)) _piped[machine] = names = [];
            names.AddRange(piped.Where(n => !names.Contains(n)));
        }
    }

    /// <summary>The processes asked for: the names given, or each piped process on its own machine.</summary>
    private protected ProcessSelection Selection() => new()
    {
        Names = Name,
        PerMachine = _piped.Count == 0 ? null : _piped.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value),
        ThrottleLimit = ThrottleLimit,
    };
}
