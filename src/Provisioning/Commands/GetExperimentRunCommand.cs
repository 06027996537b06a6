using System.Management.Automation;
using Provisioning.Binding;
using Provisioning.Completion;
using Provisioning.Core.Errors;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Errors;
using Provisioning.Pipeline;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Lists the runs recorded in the journal of the current (or given) testbed, newest first.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ExperimentRun", DefaultParameterSetName = LastSet)]
[OutputType(typeof(ExperimentRun))]
public sealed class GetExperimentRunCommand : AgentCmdlet
{
    private const string LastSet = "Last";
    private const string IdSet = "Id";

    // Piped results and steps name their run once per host: each id is looked up once.
    private readonly SortedSet<long> _ids = [];
    private Testbed? _testbed;
    private RunJournal? _journal;

    /// <summary>Only the newest <c>n</c> runs. Every run when omitted.</summary>
    [Parameter(ParameterSetName = LastSet)]
    [ValidateRange(1, int.MaxValue)]
    public int Last { get; set; }

    /// <summary>Run ids. Binds by property name (Id, RunId), so runs, results and journal steps can be piped in.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    [Alias("RunId")]
    [ArgumentCompleter(typeof(RunIdCompleter))]
    [ValidateNotNullOrEmpty]
    public long[] Id { get; set; } = [];

    /// <summary>The testbed whose journal is read (object or name); the current testbed when omitted.</summary>
    [Parameter]
    [TestbedTransformation]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    [ValidateNotNull]
    public Testbed? Testbed { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        _testbed = ResolveTestbed(Testbed);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Listing happens here, not in EndProcessing: downstream of a pipeline that produced nothing, ProcessRecord
    /// never runs, and an empty input must not turn into "every run".
    /// </remarks>
    protected override void ProcessRecord()
    {
        if (ParameterSetName == IdSet)
        {
            _ids.UnionWith(Id);
            return;
        }
        if (OpenJournal() is not { } journal) return;
        int? last = MyInvocation.BoundParameters.ContainsKey(nameof(Last)) ? Last : null;
        foreach (var run in InvokeEngine(() => journal.GetRuns(last), journal.Path)) WriteObject(run);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Runs asked for by id are read here, after the commands upstream have finished: results piped from
    /// Invoke-RemoteCommand arrive while their run is still going, and its final status is known only once that
    /// command has ended.
    /// </remarks>
    protected override void EndProcessing()
    {
        try
        {
            foreach (var id in _ids.Reverse())
                if (Find(id) is { } run) WriteObject(run);
        }
        finally
        {
            CloseJournal();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) CloseJournal();
        base.Dispose(disposing);
    }

    // Reading must not create a journal (and its folder) for a testbed that never ran anything: null then.
    private RunJournal? OpenJournal()
    {
        var testbed = _testbed!;
        if (_journal is null && File.Exists(testbed.JournalPath))
            _journal = InvokeEngine(() => RunJournal.Open(testbed.JournalPath), testbed.JournalPath);
        return _journal;
    }

    // The run, or null after a non-terminating RunNotFound error naming the id; other journal trouble terminates.
    private ExperimentRun? Find(long id)
    {
        if (OpenJournal() is not { } journal)
        {
            WriteError(ErrorRecordFactory.Create(ErrorKind.RunNotFound,
                $"Testbed '{_testbed!.Name}' has no journal yet ('{_testbed.JournalPath}'), so it has no run {id}.", id));
            return null;
        }
        try
        {
            return journal.GetRuns(id: id)[0];
        }
        catch (ProvisioningException ex) when (ex.Kind == ErrorKind.RunNotFound)
        {
            WriteError(ErrorRecordFactory.FromException(ex, id));
            return null;
        }
        catch (Exception ex)
        {
            throw TerminatingError(ErrorRecordFactory.FromException(ex, journal.Path));
        }
    }

    private void CloseJournal()
    {
        _journal?.Dispose();
        _journal = null;
    }
}
