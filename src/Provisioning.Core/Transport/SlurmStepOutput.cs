using System.Text;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Transport;

/// <summary>
/// Reads one Slurm job step's output back into per-node results. Each task first writes a start frame
/// (<c>TOKEN S node job.step</c>) and ends both streams with an exit frame (<c>\nTOKEN X code</c>), so the task's
/// node, its step (for scancel) and its exit code are known whatever the command printed. With <c>--label</c>, srun
/// prefixes every line with the task number; lines without a label are srun's own diagnostics.
/// </summary>
internal sealed partial class SlurmStepOutput
{
    /// <summary>The environment variable that carries the command to the task (never on a command line).</summary>
    public const string CommandVariable = "PROVISIONING_STEP_COMMAND";
    /// <summary>The environment variable that carries the step's frame token.</summary>
    public const string TokenVariable = "PROVISIONING_STEP_TOKEN";

    private const string StartFrame = "printf '%s S %s %s.%s\\n' \"$" + TokenVariable + "\" \"$SLURMD_NODENAME\" \"$SLURM_JOB_ID\" \"$SLURM_STEP_ID\"";
    private const string RunCommand = "__prov_c=$" + CommandVariable + "; unset " + CommandVariable + "; eval \"$__prov_c\"";

    /// <summary>
    /// The task's script of a labelled step: start frame, a watcher on stdin (srun's, which the controller keeps open:
    /// EOF means a stop or a dead controller, and the watcher then kills the task's whole process group at once), the
    /// command in a subshell on /dev/null, exit frames. The watcher reads a copy of stdin, since an asynchronous list
    /// gets /dev/null.
    /// </summary>
    public const string LabelledWrapper =
        StartFrame + "; exec 3<&0; { while IFS= read -r __prov_l <&3; do :; done; kill -KILL 0; } >/dev/null 2>&1 & __prov_w=$!; " +
        "( " + RunCommand + " ) </dev/null 3<&-; __prov_x=$?; kill $__prov_w 2>/dev/null; " +
        "printf '\\n%s X %d\\n' \"$" + TokenVariable + "\" \"$__prov_x\"; printf '\\n%s X %d\\n' \"$" + TokenVariable + "\" \"$__prov_x\" >&2";

    /// <summary>The task's script of a stream step: the start frame on stderr, then the command, whose stdin and stdout are the streams.</summary>
    public const string StreamWrapper = StartFrame + " >&2; " + RunCommand;

    /// <summary>Which of a task's streams a line came from.</summary>
    public enum Stream
    {
        /// <summary>Standard output.</summary>
        Stdout,
        /// <summary>Standard error.</summary>
        Stderr,
    }

    private readonly string _token;
    private readonly int _limit;
    private readonly Dictionary<int, TaskOutput> _tasks = [];
    private readonly List<string> _diagnostics = [];
    private readonly CappedBuffer _rawStdout;

    public SlurmStepOutput(string token, int limit)
    {
        _token = token;
        _limit = limit;
        _rawStdout = new CappedBuffer(limit);
    }

    private bool _stopping;

    /// <summary>Marks the step as being stopped: a task that reports its exit from now on was killed by the stop.</summary>
    public void Stopping() => Volatile.Write(ref _stopping, true);

    /// <summary>The <c>job.step</c> ids the tasks reported, for scancel.</summary>
    public IReadOnlyList<string> StepIds
    {
        get
        {
            lock (_tasks) return _tasks.Values.Select(t => t.StepId).OfType<string>().Distinct().ToList();
        }
    }

    [GeneratedRegex(@"^ *(\d+): ?(.*)$")]
    private static partial Regex Label();

    [GeneratedRegex(@"^slurmstepd(-\S+)?: ")]
    private static partial Regex StepDaemonLine();

    private sealed class TaskOutput(int limit)
    {
        public string? Node;
        public string? StepId;
        public int? ExitCode;
        public bool ExitedBeforeStop;
        public bool StderrDone;
        public readonly LineText Stdout = new(limit);
        public readonly LineText Stderr = new(limit);
    }

    /// <summary>Lines of one stream, rejoined exactly: the exit frame's leading newline is the only one added.</summary>
    private sealed class LineText(int limit)
    {
        private readonly List<string> _lines = [];
        private int _bytes;
        public bool Truncated { get; private set; }

        public void Add(string line)
        {
            var size = Encoding.UTF8.GetByteCount(line) + 1;
            if (_bytes + size > limit) { Truncated = true; return; }
            _bytes += size;
            _lines.Add(line);
        }

        public string Text() => string.Join("\n", _lines);
    }

    private TaskOutput Task(int index)
    {
        if (!_tasks.TryGetValue(index, out var task)) _tasks[index] = task = new TaskOutput(_limit);
        return task;
    }

    /// <summary>Reads a labelled stream (<c>--label</c>) to its end.</summary>
    public async Task ReadLabelledAsync(System.IO.Stream source, Stream which)
    {
        using var reader = new StreamReader(source, Encoding.UTF8);
        await ReadLinesAsync(reader, which, labelled: true).ConfigureAwait(false);
    }

    /// <summary>Reads srun's stderr: labelled task lines (or, unlabelled, the single task's) and srun's own diagnostics.</summary>
    public Task ReadLabelledOrDiagnosticsAsync(StreamReader stderr, bool labelled) => ReadLinesAsync(stderr, Stream.Stderr, labelled);

    /// <summary>Reads a stream step's raw stdout (kept up to the limit).</summary>
    public Task ReadRawAsync(System.IO.Stream stdout) => _rawStdout.DrainAsync(stdout);

    private async Task ReadLinesAsync(StreamReader reader, Stream which, bool labelled)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (_tasks)
            {
                if (labelled)
                {
                    var m = Label().Match(line);
                    if (!m.Success) { AddDiagnostic(line); continue; }
                    Take(Task(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)), m.Groups[2].Value, which);
                }
                else if (which == Stream.Stderr && (line.StartsWith("srun: ", StringComparison.Ordinal) || StepDaemonLine().IsMatch(line)))
                {
                    AddDiagnostic(line);
                }
                else
                {
                    Take(Task(0), line, which);
                }
            }
        }
    }

    private void AddDiagnostic(string line)
    {
        if (_diagnostics.Count < 20 && line.Trim().Length > 0) _diagnostics.Add(line.Trim());
    }

    private void Take(TaskOutput task, string content, Stream which)
    {
        if (content.StartsWith(_token, StringComparison.Ordinal))
        {
            var frame = content[_token.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (frame.Length >= 3 && frame[0] == "S")
            {
                task.Node = frame[1];
                task.StepId = frame[2];
                return;
            }
            if (frame.Length >= 2 && frame[0] == "X" && int.TryParse(frame[1], out var code))
            {
                if (which == Stream.Stdout)
                {
                    task.ExitCode = code;
                    task.ExitedBeforeStop = !Volatile.Read(ref _stopping);
                }
                else task.StderrDone = true;
                return;
            }
        }
        if (which == Stream.Stdout ? task.ExitCode is not null : task.StderrDone) return;
        if (which == Stream.Stderr && StepDaemonLine().IsMatch(content)) { AddDiagnostic(content); return; }
        (which == Stream.Stdout ? task.Stdout : task.Stderr).Add(content);
    }

    private string Diagnostics()
    {
        lock (_tasks)
        {
            var useful = _diagnostics.Where(d => !d.Contains(": task ", StringComparison.Ordinal) || !d.Contains("Exited with exit code", StringComparison.Ordinal)).ToList();
            return useful.Count == 0 ? "srun gave no reason" : string.Join(" ", useful);
        }
    }

    /// <summary>The result of <paramref name="node"/>'s task in a labelled step.</summary>
    public RemoteExecution ResultFor(string node, SlurmTransport.StepRun run)
    {
        TaskOutput? task;
        lock (_tasks) task = _tasks.Values.FirstOrDefault(t => t.Node == node);
        if (task?.ExitCode is { } code && (task.ExitedBeforeStop || run.StoppedAs is null)) return Result(run, ExecutionOutcome.Exited, code, task.Stdout.Text(), task.Stderr.Text(), task.Stdout.Truncated || task.Stderr.Truncated);
        return Unfinished(node, run, task is not null, task?.Stdout.Text() ?? "", task?.Stderr.Text() ?? "");
    }

    /// <summary>The result of a stream step's single task: srun's exit code is the command's.</summary>
    public RemoteExecution SingleResult(string node, SlurmTransport.StepRun run)
    {
        TaskOutput? task;
        lock (_tasks) task = _tasks.GetValueOrDefault(0);
        var started = task?.StepId is not null;
        var stderr = task?.Stderr.Text() ?? "";
        if (started && run.StoppedAs is null)
            return Result(run, ExecutionOutcome.Exited, run.ExitCode, _rawStdout.Text(), stderr, _rawStdout.Truncated || (task?.Stderr.Truncated ?? false));
        return Unfinished(node, run, started, _rawStdout.Text(), stderr);
    }

    private RemoteExecution Unfinished(string node, SlurmTransport.StepRun run, bool started, string stdout, string stderr)
    {
        if (run.StoppedAs is { } stopped) return Result(run, stopped, null, stdout, stderr, false);
        var why = Diagnostics();
        return new RemoteExecution
        {
            Outcome = started ? ExecutionOutcome.ConnectionLost : ExecutionOutcome.ConnectionFailed,
            Stdout = stdout,
            Stderr = string.IsNullOrEmpty(stderr) ? why : stderr + "\n" + why,
            StartTime = run.Started,
            Duration = run.Duration,
            FailureKind = started ? ErrorKind.ConnectionLost : ErrorKind.HostUnreachable,
            FailureMessage = started
                ? $"{node}: the job step ended before the command did: {why}"
                : $"{node}: srun could not run a step in job {run.JobId}: {why}",
        };
    }

    private static RemoteExecution Result(SlurmTransport.StepRun run, ExecutionOutcome outcome, int? code, string stdout, string stderr, bool truncated) => new()
    {
        Outcome = outcome,
        ExitCode = code,
        Stdout = stdout,
        Stderr = stderr,
        OutputTruncated = truncated,
        StartTime = run.Started,
        Duration = run.Duration,
    };
}
