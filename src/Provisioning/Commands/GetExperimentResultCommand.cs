using System.Collections;
using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using Provisioning.Errors;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Brings an experiment's result files home from agent machines (journaled), or returns the recorded per-machine outcomes of a run.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ExperimentResult", DefaultParameterSetName = RunSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ExperimentResult), ParameterSetName = [FetchSet])]
[OutputType(typeof(StepRecord), ParameterSetName = [RunSet, RunIdSet])]
public sealed class GetExperimentResultCommand : FetchCommandBase
{
    private const string FetchSet = "Fetch";
    private const string RunSet = "Run";
    private const string RunIdSet = "RunId";

    /// <summary>The remote path or shell glob, a template rendered for each machine.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = FetchSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The local folder; each machine's files go to Destination/&lt;machine name&gt;/.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = FetchSet)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>The machines to fetch from, usually piped from Get-AgentMachine (machine names also work).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = FetchSet)]
    [Alias("Machine")]
    [AgentMachineTransformation]
    [ArgumentCompleter(typeof(AgentMachineNameCompleter))]
    [ValidateNotNull]
    public AgentMachine[] InputObject { get; set; } = [];

    /// <summary>Extra template variables for the remote path.</summary>
    [Parameter(ParameterSetName = FetchSet)]
    [ValidateNotNull]
    public Hashtable? Variable { get; set; }

    /// <summary>How many machines are fetched from at once.</summary>
    [Parameter(ParameterSetName = FetchSet)]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = FanOut.DefaultThrottleLimit;

    /// <summary>Stops a machine's transfer after this many seconds.</summary>
    [Parameter(ParameterSetName = FetchSet)]
    [ValidateRange(1, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Reads the files through <c>sudo -n</c> on the machines.</summary>
    [Parameter(ParameterSetName = FetchSet)]
    public SwitchParameter Sudo { get; set; }

    /// <summary>A journaled run (from Get-ExperimentRun) whose recorded outcomes to return; no machine is contacted.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = RunSet)]
    [ValidateNotNull]
    public ExperimentRun[] Run { get; set; } = [];

    /// <summary>The id of a run in the testbed's journal whose recorded outcomes to return.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RunIdSet)]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    [ValidateRange(1, long.MaxValue)]
    public long RunId { get; set; }

    /// <summary>With -RunId: the testbed whose journal holds the run (default: the current testbed).</summary>
    [Parameter(ParameterSetName = RunIdSet)]
    [TestbedTransformation]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    public Testbed? Testbed { get; set; }

    /// <summary>Returns only the machines' steps that did not succeed (to rerun just those).</summary>
    [Parameter(ParameterSetName = RunSet)]
    [Parameter(ParameterSetName = RunIdSet)]
    public SwitchParameter Failed { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case FetchSet:
                Collect(InputObject);
                break;
            case RunSet:
                foreach (var run in Run)
                {
                    if (string.IsNullOrEmpty(run.JournalPath))
                    {
                        WriteError(ErrorRecordFactory.Create(ErrorKind.RunNotFound, $"Run #{run.Id} does not say which journal it is in.", run));
                        continue;
                    }
                    WriteSteps(run.JournalPath, run.Id, run);
                }
                break;
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        switch (ParameterSetName)
        {
            case FetchSet:
                Fetch(new FileFetchSpec
                {
                    Path = Path,
                    Destination = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination),
                    Variables = Variable is null ? null : EngineValue.FromDictionary(Variable),
                    ThrottleLimit = ThrottleLimit,
                    Timeout = MyInvocation.BoundParameters.ContainsKey(nameof(TimeoutSec)) ? TimeSpan.FromSeconds(TimeoutSec) : null,
                    Sudo = Sudo,
                }, journal: true);
                break;
            case RunIdSet:
                var testbed = ResolveTestbed(Testbed);
                WriteSteps(testbed.JournalPath, RunId, RunId);
                break;
        }
    }

    /// <summary>Writes the recorded steps of one run, read from the journal on the pipeline thread (no host is contacted).</summary>
    private void WriteSteps(string journalPath, long runId, object target)
    {
        if (!File.Exists(journalPath))
        {
            WriteError(ErrorRecordFactory.Create(ErrorKind.RunNotFound, $"Run #{runId} cannot be read: the journal '{journalPath}' does not exist.", target));
            return;
        }
        IReadOnlyList<StepRecord> steps;
        try
        {
            using var journal = RunJournal.Open(journalPath);
            if (journal.GetRuns(id: runId).Count == 0)
            {
                WriteError(ErrorRecordFactory.Create(ErrorKind.RunNotFound, $"The journal '{journalPath}' has no run #{runId}.", target));
                return;
            }
            steps = journal.GetSteps(runId, Failed);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorRecordFactory.FromException(ex is ProvisioningException ? ex : new ProvisioningException(ErrorKind.JournalFailed,
                $"Run #{runId} cannot be read from '{journalPath}': {ex.Message}", target, ex), target));
            return;
        }
        WriteObject(steps, enumerateCollection: true);
    }
}
