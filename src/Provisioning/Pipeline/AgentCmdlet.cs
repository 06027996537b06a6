using System.Management.Automation;
using System.Threading.Channels;
using Provisioning.Core.Errors;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Errors;
using Provisioning.Journal;
using Provisioning.Session;

namespace Provisioning.Pipeline;

/// <summary>
/// Base of every Provisioning cmdlet. It owns the one rule PowerShell does not forgive: WriteObject, WriteError,
/// WriteProgress, WriteWarning and ShouldProcess run only on the pipeline thread. The engine works on the thread
/// pool and hands results over a <see cref="ChannelReader{T}"/>; <see cref="WriteStream{T}"/> drains it here.
/// Ctrl+C (<see cref="StopProcessing"/>) cancels <see cref="StopToken"/>, which the engine uses to kill remote work.
/// </summary>
public abstract class AgentCmdlet : PSCmdlet, IDisposable
{
    /// <summary>How long a stopped cmdlet waits for the engine to kill and clean up remote work.</summary>
    private static readonly TimeSpan CleanupGrace = TimeSpan.FromSeconds(10);

    private static int s_lastActivityId;

    // Created with the cmdlet (before BeginProcessing), so StopProcessing always has something to cancel.
    private readonly CancellationTokenSource _stopping = new();

    // One progress activity per cmdlet instance, so nested or parallel pipelines keep separate bars.
    private readonly int _activityId = Interlocked.Increment(ref s_lastActivityId) & int.MaxValue;

    /// <summary>Cancelled when the pipeline is stopped (Ctrl+C) or the cmdlet gives up; pass it to the engine.</summary>
    protected internal CancellationToken StopToken => _stopping.Token;

    /// <summary>Cancels <see cref="StopToken"/>. Called by PowerShell on another thread.</summary>
    protected override void StopProcessing()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The cmdlet already finished.
        }
    }

    /// <summary>
    /// Writes every item of <paramref name="reader"/> as it arrives, on the pipeline thread, with a progress bar
    /// "N of M hosts done" (completed at the end). <paramref name="write"/> may call WriteObject and WriteError.
    /// When the pipeline stops, or <paramref name="write"/> throws (for example -ErrorAction Stop), the engine's
    /// work is cancelled and given <c>~10 s</c> to clean up before the exception goes on.
    /// </summary>
    /// <typeparam name="T">The engine's result type.</typeparam>
    /// <param name="reader">The engine's result stream.</param>
    /// <param name="total">How many hosts the results are for.</param>
    /// <param name="activity">The progress activity, usually the cmdlet name.</param>
    /// <param name="write">Writes one result.</param>
    /// <param name="countsAsDone">Whether an item ends a host's part (an operation that streams also sends partial ones); all do when null.</param>
    protected internal void WriteStream<T>(ChannelReader<T> reader, int total, string activity, Action<T> write, Func<T, bool>? countsAsDone = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(write);
        // A new record each time: a host keeps the records it is given (a hosted runspace's progress stream does).
        ProgressRecord Progress(int done) => new(_activityId, activity, Status(done, total))
        {
            PercentComplete = total > 0 ? Math.Min(100, done * 100 / total) : 100,
        };
        var done = 0;
        try
        {
            WriteProgress(Progress(0));
            while (reader.WaitToReadAsync(StopToken).AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var item))
                {
                    write(item);
                    if (countsAsDone is not null && !countsAsDone(item)) continue;
                    done++;
                    WriteProgress(Progress(done));
                }
            }
        }
        catch (Exception ex)
        {
            CancelAndAwaitEngine(reader);
            if (ex is OperationCanceledException && Stopping) throw new PipelineStoppedException();
            if (ex is RuntimeException) throw; // PowerShell's own flow: stop, -ErrorAction Stop, ...
            throw TerminatingError(ErrorRecordFactory.FromException(ex));
        }
        var completed = Progress(done);
        completed.RecordType = ProgressRecordType.Completed;
        completed.PercentComplete = 100;
        WriteProgress(completed);
    }

    /// <summary>
    /// Waits on the pipeline thread for engine work that has no result stream (starting or removing a testbed).
    /// Stopping the pipeline cancels <see cref="StopToken"/>; the resulting cancellation becomes PipelineStoppedException.
    /// </summary>
    /// <typeparam name="T">The task's result.</typeparam>
    /// <param name="task">Work started with <see cref="StopToken"/>.</param>
    protected T Await<T>(Task<T> task)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// Starts engine work with a status callback and waits for it like <see cref="Await{T}(Task{T})"/>: the engine calls
    /// the callback from its own threads, and each status line becomes progress of <paramref name="activity"/> here, on
    /// the pipeline thread (completed at the end; no bar at all when the work posts no status).
    /// </summary>
    /// <typeparam name="T">The work's result.</typeparam>
    /// <param name="activity">The progress activity.</param>
    /// <param name="start">Starts the work (with <see cref="StopToken"/>), given the status callback.</param>
    protected T AwaitWithProgress<T>(string activity, Func<Action<string>, Task<T>> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        var statuses = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var task = start(status => statuses.Writer.TryWrite(status));
        var shown = false;
        try
        {
            while (!task.IsCompleted)
            {
                Task.WaitAny(task, statuses.Reader.WaitToReadAsync(CancellationToken.None).AsTask());
                while (statuses.Reader.TryRead(out var status))
                {
                    WriteProgress(new ProgressRecord(_activityId, activity, status));
                    shown = true;
                }
            }
            return Await(task);
        }
        finally
        {
            if (shown && !Stopping) WriteProgress(new ProgressRecord(_activityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }

    /// <summary>Waits on the pipeline thread for engine work without a result; see <see cref="Await{T}(Task{T})"/>.</summary>
    /// <param name="task">Work started with <see cref="StopToken"/>.</param>
    protected void Await(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// Calls the engine synchronously on the pipeline thread; anything it throws (other than PowerShell's own
    /// flow exceptions) becomes a terminating error with the id and category of its kind.
    /// </summary>
    /// <typeparam name="T">The engine's result.</typeparam>
    /// <param name="call">The engine call.</param>
    /// <param name="target">The error's target when the exception carries none (a path, a pattern).</param>
    protected internal T InvokeEngine<T>(Func<T> call, object? target = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            return call();
        }
        catch (Exception ex) when (ex is not RuntimeException)
        {
            throw TerminatingError(ErrorRecordFactory.FromException(ex, target));
        }
    }

    /// <summary>The testbed to work on: <paramref name="explicitTestbed"/>, else the current one, else a terminating TestbedNotFound error.</summary>
    /// <param name="explicitTestbed">The -Testbed argument, when given.</param>
    protected Testbed ResolveTestbed(Testbed? explicitTestbed)
    {
        var testbed = explicitTestbed ?? TestbedRegistry.Current;
        if (testbed is null)
        {
            throw TerminatingError(ErrorRecordFactory.Create(ErrorKind.TestbedNotFound,
                "No testbed is loaded. Run New-Testbed -Path <file.yaml>, or New-Testbed -Provider Local -Count 4, first.", null));
        }
        if (testbed.IsRemoved)
        {
            throw TerminatingError(ErrorRecordFactory.Create(ErrorKind.TestbedNotFound,
                $"Testbed '{testbed.Name}' was removed. Load it again with New-Testbed.", testbed));
        }
        return testbed;
    }

    /// <summary>
    /// Adds piped machines to <paramref name="machines"/> once each, in arrival order (call it from ProcessRecord).
    /// A machine whose testbed was removed gets a non-terminating TestbedNotFound error instead: its connections
    /// and, for a Local testbed, its agents are gone.
    /// </summary>
    /// <param name="input">The machines bound for this record.</param>
    /// <param name="machines">The machines collected so far.</param>
    protected void CollectMachines(IEnumerable<AgentMachine> input, List<AgentMachine> machines)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(machines);
        foreach (var machine in input)
        {
            if (machine.Testbed is { IsRemoved: true } removed)
            {
                WriteError(ErrorRecordFactory.Create(ErrorKind.TestbedNotFound,
                    $"{machine.Name} belongs to testbed '{removed.Name}', which was removed. Load it again with New-Testbed.", machine));
                continue;
            }
            if (!machines.Contains(machine)) machines.Add(machine);
        }
    }

    /// <summary>Writes the non-terminating error of a host that failed, with the machine as target.</summary>
    /// <param name="error">The result's error.</param>
    /// <param name="target">The machine.</param>
    protected internal void WriteHostError(HostError error, object target) => WriteError(ErrorRecordFactory.FromHostError(error, target));

    /// <summary>
    /// Raises <paramref name="record"/> as a terminating error. Use it as <c>throw TerminatingError(record);</c>:
    /// it never returns, and the <c>throw</c> tells the compiler so.
    /// </summary>
    /// <param name="record">The error.</param>
    protected Exception TerminatingError(ErrorRecord record)
    {
        ThrowTerminatingError(record);
        return new InvalidOperationException("ThrowTerminatingError returned.");
    }

    /// <summary>
    /// Starts a journal run for this call in <paramref name="testbed"/>'s journal: the cmdlet name, its bound
    /// parameters (secret-looking values redacted) with <c>InputObject</c> replaced by the names of all
    /// <paramref name="machines"/> (a piped parameter only holds the last record), and the host count.
    /// Journal trouble becomes warnings; the command always goes on.
    /// </summary>
    /// <param name="testbed">Whose journal.</param>
    /// <param name="machines">Every machine the run targets.</param>
    internal RunRecording BeginRecording(Testbed testbed, IReadOnlyCollection<AgentMachine> machines)
    {
        var parameters = new Dictionary<string, object?>(JournalParameters.From(MyInvocation.BoundParameters), StringComparer.OrdinalIgnoreCase)
        {
            ["InputObject"] = machines.Select(m => m.Name).ToList(),
        };
        var recording = RunRecording.Begin(testbed, MyInvocation.MyCommand.Name, parameters, machines.Count);
        WriteJournalWarnings(recording);
        return recording;
    }

    /// <summary>Closes a journal run; warnings are written unless the pipeline is stopping.</summary>
    /// <param name="recording">From <see cref="BeginRecording"/>.</param>
    /// <param name="status">How the run ended.</param>
    internal void CompleteRecording(RunRecording recording, RunStatus status)
    {
        recording.Complete(status);
        if (!Stopping) WriteJournalWarnings(recording);
    }

    /// <summary>Releases the stop token.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the stop token when <paramref name="disposing"/>.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _stopping.Dispose();
    }

    private void WriteJournalWarnings(RunRecording recording)
    {
        foreach (var warning in recording.TakeWarnings()) WriteWarning(warning);
    }

    private void CancelAndAwaitEngine<T>(ChannelReader<T> reader)
    {
        StopProcessing();
        // Keep reading (and dropping) results: a channel only completes once it is empty, and the engine
        // needs this time to kill its remote processes.
        using var grace = new CancellationTokenSource(CleanupGrace);
        try
        {
            while (reader.WaitToReadAsync(grace.Token).AsTask().GetAwaiter().GetResult())
                while (reader.TryRead(out _)) { }
        }
        catch (Exception)
        {
            // Grace period over, or the engine failed while stopping: nothing more to wait for.
        }
    }

    private static string Status(int done, int total) => $"{done} of {total} hosts done";
}
