using System.Management.Automation;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// What Receive-AgentFile and Get-ExperimentResult share: collect the piped machines, confirm each one's
/// fetch (-WhatIf), run <see cref="AgentFileFetcher"/>, and write its results and errors on the pipeline thread.
/// </summary>
public abstract class FetchCommandBase : AgentCmdlet
{
    private readonly List<AgentMachine> _machines = [];

    /// <summary>Adds the machines of the current record (call from ProcessRecord).</summary>
    /// <param name="input">The bound machines.</param>
    private protected void Collect(IEnumerable<AgentMachine> input) => CollectMachines(input, _machines);

    /// <summary>
    /// Fetches from the collected machines. With <paramref name="journal"/>, the call is a run of the testbed's
    /// journal: one step per machine and file, and an artifact (local path and SHA-256) per fetched file.
    /// </summary>
    /// <param name="spec">What to fetch; its Destination is already a provider path.</param>
    /// <param name="journal">Record the run in the journal.</param>
    private protected void Fetch(FileFetchSpec spec, bool journal)
    {
        if (_machines.Count == 0)
        {
            WriteVerbose("No agent machine was given; nothing to fetch.");
            return;
        }
        var fetcher = new AgentFileFetcher();
        var approved = new List<AgentMachine>();
        foreach (var plan in InvokeEngine(() => fetcher.Plan(_machines, spec), spec.Destination))
        {
            var action = plan.Error is null
                ? $"Fetch '{plan.RemotePath}' into '{plan.LocalFolder}'"
                : $"Fetch '{plan.RemotePath ?? spec.Path}' (refused: {plan.Error.Message})";
            if (ShouldProcess($"{plan.Machine.Name} ({plan.Machine.Address}:{plan.Machine.Port})", action))
                approved.Add(plan.Machine);
        }
        if (approved.Count == 0) return;

        var testbed = approved[0].Testbed;
        var recording = journal && testbed is not null ? BeginRecording(testbed, approved) : null;
        var status = RunStatus.Interrupted;
        try
        {
            var anyFailed = false;
            var results = InvokeEngine(() => fetcher.Run(approved, spec, recording?.Recorder, StopToken), spec.Destination);
            WriteStream(results, approved.Count, $"{MyInvocation.MyCommand.Name} {spec.Path}", result =>
            {
                anyFailed |= !result.Succeeded;
                WriteObject(result);
                if (result.Error is not null) WriteHostError(result.Error, result.Machine);
            });
            status = anyFailed ? RunStatus.Failed : RunStatus.Succeeded;
        }
        finally
        {
            if (recording is not null) CompleteRecording(recording, status);
        }
    }
}
