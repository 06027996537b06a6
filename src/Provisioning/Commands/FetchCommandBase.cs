using Provisioning.Core.Transfer;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// What Receive-AgentFile and Get-ExperimentResult share: the fetch operation, run through the one host-operation
/// lifecycle (journaled or not).
/// </summary>
public abstract class FetchCommandBase : HostOperationCmdlet
{
    /// <summary>
    /// Fetches from the collected machines. With <paramref name="journal"/>, the call is a run of the testbed's
    /// journal: one step per machine and file, and an artifact (local path and SHA-256) per fetched file.
    /// </summary>
    /// <param name="spec">What to fetch; its Destination is already a provider path.</param>
    /// <param name="journal">Record the run in the journal.</param>
    private protected void Fetch(FileFetchSpec spec, bool journal) =>
        HostOperationLifecycle.Run(this, new AgentFileFetcher().Operation(spec), journal, spec.Destination);
}
