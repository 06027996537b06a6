using System.Management.Automation;
using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;

namespace Provisioning.Pipeline;

/// <summary>
/// The one lifecycle of every cmdlet that works on piped machines: collect the machines, plan the operation,
/// ShouldProcess each host with its own rendered action, begin one journal run per testbed, stream each host's
/// results as it finishes (progress counts hosts), then close each run with its status. A cmdlet derived from it
/// is its parameters, the operation it builds, and one call to <see cref="HostOperationLifecycle.Run"/>.
/// </summary>
/// <remarks>
/// The generic lifecycle itself is in the internal <see cref="HostOperationLifecycle"/>, on purpose: pwsh loads a
/// binary module's public types before the module initializer can resolve the engine's assembly, and a public type
/// with a generic base, virtual or constraint naming an engine type would have to load the engine then.
/// </remarks>
public abstract class HostOperationCmdlet : AgentCmdlet
{
    private readonly List<AgentMachine> _machines = [];

    /// <summary>Adds the piped machines of the current record (call from ProcessRecord).</summary>
    /// <param name="input">The bound machines.</param>
    protected void Collect(IEnumerable<AgentMachine> input) => CollectMachines(input, _machines);

    /// <summary>The machines collected so far, in arrival order, each once.</summary>
    protected internal IReadOnlyList<AgentMachine> CollectedMachines => _machines;

    /// <summary>
    /// True under -WhatIf (given, or from $WhatIfPreference): operations with a check mode of their own then run it
    /// (the agent's own dry run) instead of asking ShouldProcess.
    /// </summary>
    protected bool WhatIfRequested => MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf)
        ? ((SwitchParameter)whatIf).IsPresent
        : SessionState.PSVariable.GetValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true };

    /// <summary>Writes one result: the object, and the host's non-terminating error when it failed.</summary>
    /// <param name="result">The result.</param>
    internal void WriteResult(HostOutcome result)
    {
        ArgumentNullException.ThrowIfNull(result);
        WriteObject(result);
        if (result.Error is not null) WriteHostError(result.Error, result.Machine);
    }
}
