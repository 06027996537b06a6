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
    private const string InputObjectSet = "InputObject";

    // Piped results and steps name their run once per host: each (journal, id) is looked up once.
    private readonly HashSet<(string Journal, long Id)> _wanted = [];
    private readonly Dictionary<string, RunJournal?> _journals = new(StringComparer.Ordinal);
    private Testbed? _testbed;

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

    /// <summary>Runs (from Get-ExperimentRun or a variable) to read again from their journals, with their current status.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public ExperimentRun[] InputObject { get; set; } = [];

    /// <summary>The testbed whose journal is read (object or name); the current testbed when omitted.</summary>
    [Parameter]
    [TestbedTransformation]
    [ArgumentCompleter(typeof(TestbedNameCompleter))]
    [ValidateNotNull]
    public Testbed? Testbed { get; set; }

    /// <summary>
    /// A journal file to read instead of the testbed's. Binds by property name, so piped runs, results and steps
    /// are looked up in the journal that recorded them, whichever testbed is current.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? JournalPath { get; set; }

    /// <inheritdoc />
    /// <remarks>
    /// Listing happens here, not in EndProcessing: downstream of a pipeline that produced nothing, ProcessRecord
    /// never runs, and an empty input must not turn into "every run".
    /// </remarks>
    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var run in InputObject)
                _wanted.Add((string.IsNullOrEmpty(run.JournalPath) ? JournalFile() : run.JournalPath, run.Id));
            return;
        }
        var path = JournalFile();
        if (ParameterSetName == IdSet)
        {
            foreach (var id in Id) _wanted.Add((path, id));
            return;
        }
        if (OpenJournal(path, explicitlyNamed: !string.IsNullOrEmpty(JournalPath)) is not { } journal) return;
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
            foreach (var (path, id) in _wanted.OrderByDescending(w => w.Id))
                if (Find(path, id) is { } run) WriteObject(run);
        }
        finally
        {
            CloseJournals();
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) CloseJournals();
        base.Dispose(disposing);
    }

    // The journal this record asks for: its own (-JournalPath or a piped object's), else the testbed's.
    private string JournalFile() =>
        !string.IsNullOrEmpty(JournalPath)
            ? GetUnresolvedProviderPathFromPSPath(JournalPath)
            : (_testbed ??= ResolveTestbed(Testbed)).JournalPath;

    // Reading must not create a journal (and its folder): null when the file does not exist, after an error when
    // the user named that file.
    private RunJournal? OpenJournal(string path, bool explicitlyNamed)
    {
        if (_journals.TryGetValue(path, out var open)) return open;
        RunJournal? journal = null;
        if (File.Exists(path))
            journal = InvokeEngine(() => RunJournal.Open(path), path);
        else if (explicitlyNamed)
            WriteError(ErrorRecordFactory.Create(ErrorKind.LocalPathNotFound, $"There is no journal at '{path}'.", path));
        _journals[path] = journal;
        return journal;
    }

    // The run, or null after a non-terminating RunNotFound error naming the id; other journal trouble terminates.
    private ExperimentRun? Find(string path, long id)
    {
        if (OpenJournal(path, explicitlyNamed: false) is not { } journal)
        {
            WriteError(ErrorRecordFactory.Create(ErrorKind.RunNotFound,
                $"There is no journal at '{path}' yet, so it has no run {id}.", id));
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

    private void CloseJournals()
    {
        foreach (var journal in _journals.Values) journal?.Dispose();
        _journals.Clear();
    }
}
