using System.Threading.Channels;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Journal;

namespace Provisioning.Pipeline;

/// <summary>
/// The lifecycle of <see cref="HostOperationCmdlet"/>, written once: plan, ShouldProcess per host, one journal run
/// per testbed, stream the hosts' results on the pipeline thread, then close each run with its status.
/// </summary>
/// <remarks>
/// Machines from several testbeds run in one fan-out, and each testbed's journal gets a run of its own holding that
/// testbed's hosts, so every journal stays the complete record of its testbed.
/// </remarks>
internal static class HostOperationLifecycle
{
    /// <summary>
    /// Runs <paramref name="operation"/> on the collected machines through the whole lifecycle. An operation that
    /// cannot run at all (its plan or preparation throws) is a terminating error with <paramref name="errorTarget"/>.
    /// </summary>
    /// <param name="cmdlet">The cmdlet, with its collected machines.</param>
    /// <param name="operation">The engine operation, built from the cmdlet's parameters.</param>
    /// <param name="journal">Record the call in each testbed's journal.</param>
    /// <param name="errorTarget">The target of a terminating error that carries none (a path).</param>
    /// <param name="start">Starts the engine on the approved machines, instead of the operation runner (a check that polls).</param>
    /// <param name="write">Writes one result, instead of <see cref="HostOperationCmdlet.WriteResult"/>.</param>
    /// <param name="checkMode">The operation itself is the -WhatIf (a check mode that changes nothing): run it on every
    /// machine without asking, and leave it out of the journal.</param>
    /// <typeparam name="TResult">The operation's result type.</typeparam>
    public static void Run<TResult>(
        HostOperationCmdlet cmdlet,
        HostOperation<TResult> operation,
        bool journal,
        object? errorTarget = null,
        Func<IReadOnlyList<AgentMachine>, ChannelReader<HostBatch<TResult>>>? start = null,
        Action<TResult>? write = null,
        bool checkMode = false)
        where TResult : HostOutcome
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        ArgumentNullException.ThrowIfNull(operation);
        if (cmdlet.CollectedMachines.Count == 0)
        {
            cmdlet.WriteVerbose("No agent machine was given; nothing to do.");
            return;
        }

        // -WhatIf / -Confirm: each host is shown its own rendered action; only the approved ones run.
        var approved = new List<AgentMachine>();
        foreach (var plan in cmdlet.InvokeEngine(() => operation.Plan(cmdlet.CollectedMachines), errorTarget))
        {
            if (checkMode) cmdlet.WriteVerbose($"Check mode on {plan.Machine.Name}: {plan.Action}");
            if (checkMode || cmdlet.ShouldProcess($"{plan.Machine.Name} ({plan.Machine.Address})", plan.Action)) approved.Add(plan.Machine);
        }
        if (checkMode) journal = false;
        if (approved.Count == 0) return;

        var recordings = new Dictionary<Testbed, RunRecording>();
        if (journal)
        {
            var byTestbed = approved.Where(m => m.Testbed is not null).GroupBy(m => m.Testbed!).ToList();
            if (byTestbed.Count > 1)
                cmdlet.WriteVerbose($"The machines come from {byTestbed.Count} testbeds; each testbed's journal records a run of its own machines.");
            foreach (var group in byTestbed) recordings[group.Key] = cmdlet.BeginRecording(group.Key, group.ToList());
        }
        var failed = new HashSet<Testbed?>();
        var finished = false;
        try
        {
            var results = cmdlet.InvokeEngine(() => start is not null
                ? start(approved)
                : HostOperationRunner.Run(approved, operation, m => m.Testbed is { } t && recordings.TryGetValue(t, out var r) ? r.Recorder : null, cmdlet.StopToken),
                errorTarget);
            cmdlet.WriteStream(results, approved.Count, cmdlet.MyInvocation.MyCommand.Name, batch =>
            {
                foreach (var result in batch.Results)
                {
                    if (!result.Succeeded) failed.Add(batch.Machine.Testbed);
                    if (write is null) cmdlet.WriteResult(result);
                    else write(result);
                }
            }, batch => batch.Final);
            finished = true;
        }
        finally
        {
            foreach (var (testbed, recording) in recordings)
                cmdlet.CompleteRecording(recording, !finished ? RunStatus.Interrupted : failed.Contains(testbed) ? RunStatus.Failed : RunStatus.Succeeded);
        }
    }
}
