using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Slurm;

namespace Provisioning.Core.Transport;

/// <summary>
/// <see cref="ISshTransport"/> over Slurm job steps: every command runs as <c>srun --jobid J --overlap</c> inside the
/// testbed's allocation, so the nodes need no ssh, and the scheduler's launcher fans out as a tree. Calls for the same
/// rendered command that arrive together (a fan-out) become one step over all their nodes (<c>srun --nodelist a,b,…
/// --label</c>), whose labelled output is split back into one result per node. File streams get a step of their own.
/// Timeouts and Ctrl+C cancel the step (SIGTERM to srun, which cancels it, and <c>scancel</c> of the step), so nothing
/// keeps running on the nodes. A node that the scheduler marks down, drained or failed is reported unreachable.
/// </summary>
public sealed class SlurmTransport : ISshTransport
{
    // Calls of one fan-out arrive within microseconds of each other; a few milliseconds of gathering costs little
    // next to a step's own launch (~50 ms) and makes one step of them.
    private static readonly TimeSpan GatherQuiet = TimeSpan.FromMilliseconds(3);
    private static readonly TimeSpan GatherLongest = TimeSpan.FromMilliseconds(40);
    private static readonly TimeSpan NodeStateAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    // How long the tasks' watchers get to kill their groups after the lifeline closes, before the step is cancelled.
    private static readonly TimeSpan LifelineGrace = TimeSpan.FromMilliseconds(300);

    // At most this many srun processes at once (a labelled step over any number of nodes is one).
    private readonly SemaphoreSlim _launches = new(Execution.FanOut.DefaultThrottleLimit);
    private readonly SlurmClient _client;
    private readonly string _nodeList;
    private readonly string _stepName;
    private readonly object _gate = new();
    private readonly Dictionary<StepKey, PendingStep> _gathering = new();
    private readonly ConcurrentDictionary<Process, byte> _running = new();
    private Task<IReadOnlyDictionary<string, (string State, string Reason)>>? _nodeStates;
    private long _nodeStatesAt;
    private int _closed;

    /// <summary>A transport of steps in job <paramref name="jobId"/>, whose nodes are <paramref name="nodeList"/> (a Slurm host list).</summary>
    /// <param name="client">Runs the Slurm client commands.</param>
    /// <param name="jobId">The allocation the steps run in.</param>
    /// <param name="nodeList">The allocation's nodes, for the node state checks.</param>
    /// <param name="stepName">The name every step is given (<c>srun --job-name</c>), so this testbed's steps can be found.</param>
    public SlurmTransport(SlurmClient client, string jobId, string nodeList, string stepName)
    {
        _client = client;
        JobId = jobId;
        _nodeList = nodeList;
        _stepName = stepName;
    }

    /// <summary>The job whose allocation the steps run in.</summary>
    public string JobId { get; }

    /// <summary>How many steps were launched (tests, the benchmark: a fan-out of one command is one step).</summary>
    public int StepsLaunched => Volatile.Read(ref _stepsLaunched);
    private int _stepsLaunched;

    /// <inheritdoc />
    public bool GathersFanOut => true;

    /// <inheritdoc />
    public TransportChoice Choice(AgentMachine machine) => new(TransportKind.Slurm, $"the node is reached through srun, in job {JobId}");

    /// <inheritdoc />
    public Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken) =>
        ConnectionProbe.CheckAsync(this, machine, TimeSpan.FromSeconds(30), null, cancellationToken);

    /// <inheritdoc />
    public async Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(request);
        var started = DateTimeOffset.Now;
        var node = machine.Slurm?.Name ?? machine.Name;
        if (Volatile.Read(ref _closed) != 0)
            return Failed(started, ErrorKind.HostUnreachable, $"{node}: the testbed was removed, so its allocation {JobId} is no longer used.");
        if (cancellationToken.IsCancellationRequested) return new RemoteExecution { Outcome = ExecutionOutcome.Cancelled, StartTime = started };
        if (await UnusableAsync(node, cancellationToken).ConfigureAwait(false) is { } why) return Failed(started, ErrorKind.HostUnreachable, why);

        var workDir = request.WorkDir ?? machine.WorkDir;
        if (request.WriteInput is not null || request.ReadOutput is not null)
            return await RunStreamStepAsync(node, request, workDir, cancellationToken).ConfigureAwait(false);

        var key = new StepKey(request.Command, request.Sudo, workDir, request.Timeout, request.OutputLimitBytes, cancellationToken);
        var member = new StepMember(node);
        PendingStep? opened = null;
        lock (_gate)
        {
            if (!_gathering.TryGetValue(key, out var step) || step.Members.Any(m => m.Node == node))
            {
                opened = step = new PendingStep(key, request);
                _gathering[key] = step;
            }
            step.Members.Add(member);
        }
        if (opened is not null) _ = Task.Run(() => GatherThenRunAsync(opened), CancellationToken.None);
        return await member.Result.Task.ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>0: no port is involved, since srun reaches the node through the scheduler's slurmd (Get-AgentMachine shows none).</remarks>
    public int EffectivePort(AgentMachine machine) => 0;

    /// <inheritdoc />
    public Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task CloseAllAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _closed, 1);
        var running = _running.Keys.ToList();
        foreach (var process in running) SlurmClient.Terminate(process);
        foreach (var process in running)
        {
            try
            {
                await process.WaitForExitAsync(cancellationToken).WaitAsync(StopGrace, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                SlurmClient.Kill(process);
            }
            catch (InvalidOperationException)
            {
                // Disposed: it has ended.
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(CloseAllAsync(CancellationToken.None));

    private sealed record StepKey(string Command, bool Sudo, string? WorkDir, TimeSpan? Timeout, int OutputLimit, CancellationToken Token);

    private sealed class StepMember(string node)
    {
        public string Node { get; } = node;
        public TaskCompletionSource<RemoteExecution> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PendingStep(StepKey key, RemoteExecutionRequest request)
    {
        public StepKey Key { get; } = key;
        public RemoteExecutionRequest Request { get; } = request;
        public List<StepMember> Members { get; } = [];
    }

    private async Task GatherThenRunAsync(PendingStep step)
    {
        List<StepMember> members;
        try
        {
            var clock = Stopwatch.StartNew();
            var seen = 0;
            while (true)
            {
                lock (_gate)
                {
                    if (step.Members.Count == seen || clock.Elapsed >= GatherLongest)
                    {
                        if (_gathering.TryGetValue(step.Key, out var current) && current == step) _gathering.Remove(step.Key);
                        members = [.. step.Members];
                        break;
                    }
                    seen = step.Members.Count;
                }
                await Task.Delay(GatherQuiet, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            lock (_gate) members = [.. step.Members];
            foreach (var m in members) m.Result.TrySetException(ex);
            return;
        }
        try
        {
            var results = await RunLabelledStepAsync(members.Select(m => m.Node).ToList(), step.Request, step.Key.WorkDir, step.Key.Token).ConfigureAwait(false);
            foreach (var m in members) m.Result.TrySetResult(results[m.Node]);
        }
        catch (Exception ex)
        {
            foreach (var m in members) m.Result.TrySetException(ex);
        }
    }

    /// <summary>One step over <paramref name="nodes"/>, one task per node, output labelled by task and framed per task.</summary>
    private async Task<IReadOnlyDictionary<string, RemoteExecution>> RunLabelledStepAsync(
        IReadOnlyList<string> nodes, RemoteExecutionRequest request, string? workDir, CancellationToken cancellationToken)
    {
        var token = NewToken();
        var count = nodes.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var arguments = StepArguments(string.Join(',', nodes), count);
        arguments.Add("--label");
        arguments.AddRange(["/bin/sh", "-c", SlurmStepOutput.LabelledWrapper]);
        var step = await RunStepAsync(arguments, labelled: true, token, RemoteScript.Inline(request, workDir), request, cancellationToken,
            stdin: null, readStdout: (stdout, collector) => collector.ReadLabelledAsync(stdout, SlurmStepOutput.Stream.Stdout)).ConfigureAwait(false);
        return nodes.ToDictionary(n => n, n => step.Collector.ResultFor(n, step));
    }

    /// <summary>A step on one node whose stdin or stdout is a stream (file transfers): unlabelled, exit code from srun.</summary>
    private async Task<RemoteExecution> RunStreamStepAsync(string node, RemoteExecutionRequest request, string? workDir, CancellationToken cancellationToken)
    {
        var token = NewToken();
        var arguments = StepArguments(node, "1");
        arguments.AddRange(["/bin/sh", "-c", SlurmStepOutput.StreamWrapper]);
        var step = await RunStepAsync(arguments, labelled: false, token, RemoteScript.Inline(request, workDir), request, cancellationToken,
            stdin: request.WriteInput,
            readStdout: request.ReadOutput is { } reader
                ? (stdout, collector) => reader(stdout, cancellationToken)
                : (stdout, collector) => collector.ReadRawAsync(stdout)).ConfigureAwait(false);
        return step.Collector.SingleResult(node, step);
    }

    private List<string> StepArguments(string nodeList, string count) =>
    [
        "--jobid", JobId, "--overlap", "--job-name", _stepName, "--nodelist", nodeList, "--nodes", count, "--ntasks", count,
        "--ntasks-per-node", "1", "--kill-on-bad-exit=0", "--export", "ALL", "--quiet",
    ];

    /// <summary>What a finished step left: its collector (per task output and frames), how it ended, and when.</summary>
    internal sealed record StepRun(SlurmStepOutput Collector, ExecutionOutcome? StoppedAs, int ExitCode, DateTimeOffset Started, TimeSpan Duration, string JobId);

    private async Task<StepRun> RunStepAsync(List<string> arguments, bool labelled, string token, string command, RemoteExecutionRequest request,
        CancellationToken cancellationToken, Func<Stream, CancellationToken, Task>? stdin, Func<Stream, SlurmStepOutput, Task> readStdout)
    {
        var start = _client.StartInfo("srun", arguments);
        // The command travels in the environment, not on the command line, so no process list on either side shows it.
        start.Environment[SlurmStepOutput.CommandVariable] = command;
        start.Environment[SlurmStepOutput.TokenVariable] = token;
        var collector = new SlurmStepOutput(token, request.OutputLimitBytes);
        await _launches.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await LaunchAsync(start, collector, labelled, request, cancellationToken, stdin, readStdout).ConfigureAwait(false);
        }
        finally
        {
            _launches.Release();
        }
    }

    private async Task<StepRun> LaunchAsync(System.Diagnostics.ProcessStartInfo start, SlurmStepOutput collector, bool labelled, RemoteExecutionRequest request,
        CancellationToken cancellationToken, Func<Stream, CancellationToken, Task>? stdin, Func<Stream, SlurmStepOutput, Task> readStdout)
    {
        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("srun did not start.");
        Interlocked.Increment(ref _stepsLaunched);
        _running.TryAdd(process, 0);
        ExecutionOutcome? stoppedAs = null;
        var stopOnce = 0;
        void Stop(ExecutionOutcome why)
        {
            if (Interlocked.Exchange(ref stopOnce, 1) != 0) return;
            stoppedAs = why;
            collector.Stopping();
            if (labelled)
            {
                // The lifeline first: each task's watcher kills its whole process group at once on EOF, so no command
                // can go on to its next line while slurmstepd signals the step's processes one by one.
                CloseInput(process);
                _ = Task.Delay(LifelineGrace, CancellationToken.None).ContinueWith(_ => CancelStep(), TaskScheduler.Default);
            }
            else
            {
                CancelStep();
            }
        }
        void CancelStep()
        {
            // srun cancels its step on SIGTERM; scancel of the step makes sure even if srun is stuck.
            SlurmClient.Terminate(process);
            foreach (var stepId in collector.StepIds) _ = ScancelQuietlyAsync(stepId);
            _ = Task.Delay(StopGrace, CancellationToken.None).ContinueWith(_ => SlurmClient.Kill(process), TaskScheduler.Default);
        }
        using var timeout = request.Timeout is { } limit ? new CancellationTokenSource(limit) : null;
        using var onTimeout = timeout?.Token.Register(() => Stop(ExecutionOutcome.TimedOut));
        using var onCancel = cancellationToken.Register(() => Stop(ExecutionOutcome.Cancelled));
        try
        {
            var stderr = collector.ReadLabelledOrDiagnosticsAsync(process.StandardError, labelled);
            var stdout = readStdout(process.StandardOutput.BaseStream, collector);
            // A labelled step keeps srun's stdin open as the tasks' lifeline (closed by a stop, or by this process's death).
            var input = labelled ? Task.CompletedTask : FeedAsync(process, stdin, cancellationToken);
            try
            {
                await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // The step was stopped while a stream was read; its outcome says so.
            }
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await input.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                // srun closed its stdin (the step ended or was stopped): the outcome says which.
            }
            if (labelled) CloseInput(process);
            return new StepRun(collector, stoppedAs, process.ExitCode, started, clock.Elapsed, JobId);
        }
        finally
        {
            _running.TryRemove(process, out _);
        }
    }

    private static void CloseInput(Process process)
    {
        try
        {
            process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // srun already closed it, or has ended.
        }
    }

    private static async Task FeedAsync(Process process, Func<Stream, CancellationToken, Task>? write, CancellationToken cancellationToken)
    {
        try
        {
            if (write is not null) await write(process.StandardInput.BaseStream, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // srun already closed it.
            }
        }
    }

    private async Task ScancelQuietlyAsync(string stepId)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _client.RunAsync("scancel", ["--quiet", stepId], limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ProvisioningException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // srun's own cancellation usually got there first.
        }
    }

    private static string NewToken() => "__PROVISIONING_STEP_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    private static RemoteExecution Failed(DateTimeOffset started, ErrorKind kind, string message) => new()
    {
        Outcome = ExecutionOutcome.ConnectionFailed,
        StartTime = started,
        Duration = DateTimeOffset.Now - started,
        FailureKind = kind,
        FailureMessage = message,
        Stderr = message,
    };

    /// <summary>Why <paramref name="node"/> cannot run work (down, drained, failed), from a node list at most a second old; null when it can.</summary>
    private async Task<string?> UnusableAsync(string node, CancellationToken cancellationToken)
    {
        Task<IReadOnlyDictionary<string, (string State, string Reason)>> states;
        lock (_gate)
        {
            var age = Stopwatch.GetElapsedTime(_nodeStatesAt);
            if (_nodeStates is null || age > NodeStateAge || _nodeStates.IsFaulted)
            {
                _nodeStates = ReadNodeStatesAsync();
                _nodeStatesAt = Stopwatch.GetTimestamp();
            }
            states = _nodeStates;
        }
        var map = await states.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!map.TryGetValue(node, out var state)) return null;
        var bare = state.State.TrimEnd('*', '~', '#', '!', '%', '$', '@', '^', '-').ToLowerInvariant();
        if (!(bare.StartsWith("down", StringComparison.Ordinal) || bare.StartsWith("drain", StringComparison.Ordinal) || bare.StartsWith("fail", StringComparison.Ordinal)))
            return null;
        var reason = state.Reason is "" or "none" ? "" : $" (reason: {state.Reason})";
        return $"{node}: Slurm marks the node {bare}{reason}, so job {JobId} cannot use it.";
    }

    private async Task<IReadOnlyDictionary<string, (string State, string Reason)>> ReadNodeStatesAsync()
    {
        var map = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        try
        {
            var (code, stdout, _) = await _client.RunAsync("sinfo", ["--noheader", "--Node", "--nodes", _nodeList, "--format", "%N|%T|%E"], CancellationToken.None)
                .ConfigureAwait(false);
            if (code != 0) return map;
            foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var f = line.Split('|', 3);
                if (f.Length == 3) map.TryAdd(f[0], (f[1], f[2]));
            }
        }
        catch (Exception ex) when (ex is ProvisioningException or System.ComponentModel.Win32Exception)
        {
            // No state to go by: the step itself will say what is wrong.
        }
        return map;
    }
}
