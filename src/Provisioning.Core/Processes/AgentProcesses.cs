using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Processes;

/// <summary>
/// Experiment processes that outlive the call: the engine operations behind Start-, Get-, Stop- and
/// Wait-AgentProcess and Receive-AgentProcessOutput, each one round trip per host (Wait polls; following a log
/// streams). Supervision runs on the host (<see cref="ProcessScripts"/>), so it goes on when the controller
/// disconnects, and any session or controller finds the processes again.
/// </summary>
public static partial class AgentProcesses
{
    /// <summary>What a process name may be: it names a folder on the host.</summary>
    public const string NamePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

    /// <summary>True when <paramref name="name"/> is a valid process name.</summary>
    public static bool IsValidName(string name) => ValidName().IsMatch(name);

    [GeneratedRegex(NamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex ValidName();

    [GeneratedRegex(EnvironmentNamePattern, RegexOptions.CultureInvariant)]
    private static partial Regex ValidEnvironmentName();

    /// <summary>What an environment variable name may be: a shell identifier, since the host exports it.</summary>
    public const string EnvironmentNamePattern = "^[A-Za-z_][A-Za-z0-9_]*$";

    /// <summary>Starts the process on each host.</summary>
    /// <exception cref="ProvisioningException">The name or an environment variable name cannot be used on a host (<see cref="ErrorKind.ProcessSpecInvalid"/>).</exception>
    public static HostOperation<AgentProcess> Start(ProcessStartSpec spec, TemplateRenderer? renderer = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!IsValidName(spec.Name))
            throw new ProvisioningException(ErrorKind.ProcessSpecInvalid, $"'{spec.Name}' is not a valid process name: it names a folder on the host (letters, digits, '.', '_' and '-', at most 64).", spec.Name);
        foreach (var key in spec.Environment.Keys.Where(k => !ValidEnvironmentName().IsMatch(k)))
            throw new ProvisioningException(ErrorKind.ProcessSpecInvalid, $"-Environment: '{key}' is not a valid environment variable name (letters, digits and '_', not starting with a digit).", key);
        return new StartOperation(spec, renderer ?? new TemplateRenderer());
    }

    /// <summary>Reads the state of the selected processes of each host.</summary>
    public static HostOperation<AgentProcess> Get(ProcessSelection selection) => new ListOperation(selection, null);

    /// <summary>Stops the selected processes of each host: TERM to every process of theirs, KILL after <paramref name="grace"/>.</summary>
    public static HostOperation<AgentProcess> Stop(ProcessSelection selection, TimeSpan grace) => new StopOperation(selection, grace);

    /// <summary>Waits until the selected processes of each host have ended, polling every <paramref name="poll"/>, at most <paramref name="timeout"/>.</summary>
    public static HostOperation<AgentProcess> Wait(ProcessSelection selection, TimeSpan? timeout, TimeSpan poll) =>
        new ListOperation(selection, new WaitPolicy(timeout, poll));

    /// <summary>
    /// Reads the logs of the selected processes' current runs (the last <paramref name="tail"/> lines, or all). With
    /// <paramref name="follow"/>, streams new lines as they are written until the processes end.
    /// </summary>
    public static HostOperation<AgentProcessOutputLine> Output(ProcessSelection selection, int? tail, AgentProcessStream? stream, bool follow) =>
        new OutputOperation(selection, tail, stream, follow);

    private sealed record WaitPolicy(TimeSpan? Timeout, TimeSpan Poll);

    /// <summary>Runs a process script and turns its record lines into results; a failed run is the host's error.</summary>
    private abstract class ProcessOperation(int throttleLimit) : HostOperation<AgentProcess>(throttleLimit)
    {
        protected async Task<IReadOnlyList<AgentProcess>> RunScriptAsync(AgentMachine machine, ISshTransport transport, string script, string what, bool sudo, CancellationToken ct) =>
            (await ExecuteScriptAsync(machine, transport, script, what, sudo, ct).ConfigureAwait(false)).Results;

        /// <summary>As <see cref="RunScriptAsync"/>, with the script's output for the lines that are not records.</summary>
        protected async Task<(IReadOnlyList<AgentProcess> Results, string Stdout)> ExecuteScriptAsync(AgentMachine machine, ISshTransport transport, string script, string what, bool sudo, CancellationToken ct)
        {
            // The host's copy of the functions first (a short script); the whole text only when that copy is missing.
            var e = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = ProcessScripts.UsingLibrary(script), Sudo = sudo }, ct).ConfigureAwait(false);
            if (e.Outcome == ExecutionOutcome.Exited && e.ExitCode == ProcessScripts.LibraryMissing && e.Stdout.Length == 0)
                e = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = ProcessScripts.InstallingLibrary(script), Sudo = sudo }, ct).ConfigureAwait(false);
            var (status, error) = HostFailure.FromExecution(machine, e, what, null, failed =>
                new HostError(ErrorKind.CommandFailed, $"{machine.Name}: {what} failed with code {failed.ExitCode}.{HostFailure.LastLine(failed.Stderr)}"));
            if (error is not null) return ([Failure(machine, status, error, e.StartTime)], e.Stdout);
            return (Parse(machine, e.Stdout, e.StartTime, e.Duration), e.Stdout);
        }

        public override AgentProcess Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) => new()
        {
            Machine = machine,
            ProcessName = "*",
            State = AgentProcessState.Unknown,
            Status = status,
            Error = error,
            StartTime = started,
        };

        public override JournalEntry? Journal(AgentProcess result) => new()
        {
            Kind = StepKinds.ProcessState,
            Detail = $"{result.ProcessName}: {result.State}{(result.ExitCode is { } c ? $" (exit {c})" : "")}{(result.Pid is { } p ? $", pid {p}" : "")}",
            ExitCode = result.ExitCode,
            Stderr = result.StderrHead ?? "",
        };
    }

    private sealed class StartOperation(ProcessStartSpec spec, TemplateRenderer renderer) : ProcessOperation(spec.ThrottleLimit)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) => machines.Select(m =>
        {
            var (command, error) = Render(m);
            return new HostPlan(m, command is null
                ? $"Start process '{spec.Name}' (template error: {error?.Message})"
                : $"Start process '{spec.Name}'{(spec.Force ? ", replacing one that runs," : "")}: {command}", error);
        }).ToArray();

        public override async Task<IReadOnlyList<AgentProcess>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var (rendered, error) = Render(machine);
            if (rendered is null) return [Failure(machine, HostFailure.StatusOf(error!.Kind), error, DateTimeOffset.Now) with { ProcessName = spec.Name }];
            var (results, stdout) = await ExecuteScriptAsync(machine, transport,
                ProcessScripts.Start(spec.Name, rendered.Command, rendered.Environment, rendered.WorkingDirectory ?? machine.WorkDir, spec, spec.Force),
                $"starting process '{spec.Name}'", spec.Sudo, ct).ConfigureAwait(false);
            results = await AfterExitWindowAsync(machine, transport, results, stdout, ct).ConfigureAwait(false);
            // A command that ends at once with a non-zero code did not start: say so, with its first words on stderr.
            return results.Select(r => r.State is AgentProcessState.Exited && r.ExitCode is not (null or 0) && r.Error is null
                ? r with
                {
                    Status = HostStatus.Failed,
                    Error = new HostError(ErrorKind.ProcessExited,
                        $"{machine.Name}: process '{spec.Name}' exited at once with code {r.ExitCode}{(string.IsNullOrWhiteSpace(r.StderrHead) ? "." : ": " + r.StderrHead.Trim())}"),
                }
                : r).ToArray();
        }

        /// <summary>
        /// A run that the host reported Running before <see cref="ProcessScripts.ExitWindow"/> had passed since its
        /// launch is read again once it has: a command that fails at once is then reported Exited, not Running.
        /// </summary>
        private async Task<IReadOnlyList<AgentProcess>> AfterExitWindowAsync(AgentMachine machine, ISshTransport transport,
            IReadOnlyList<AgentProcess> results, string stdout, CancellationToken ct)
        {
            if (results is not [{ State: AgentProcessState.Running, Error: null } first]) return results;
            var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("W\t", StringComparison.Ordinal));
            if (line is null || !int.TryParse(line.AsSpan(2).TrimEnd('\r'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var centiseconds)) return results;
            var left = ProcessScripts.ExitWindow - TimeSpan.FromMilliseconds(centiseconds * 10.0);
            if (left <= TimeSpan.Zero) return results;
            await Task.Delay(left, ct).ConfigureAwait(false);
            var again = await RunScriptAsync(machine, transport, ProcessScripts.List([spec.Name]), $"starting process '{spec.Name}'", spec.Sudo, ct).ConfigureAwait(false);
            return again is [{ Error: null } now]
                ? [now with { StartTime = first.StartTime, Duration = DateTimeOffset.Now - first.StartTime }]
                : again;
        }

        public override AgentProcess Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            base.Failure(machine, status, error, started) with { ProcessName = spec.Name };

        public override JournalEntry? Journal(AgentProcess result) => new()
        {
            Kind = StepKinds.ProcessStart,
            Detail = $"{spec.Name}: {spec.Command} -> {result.State}{(result.Pid is { } p ? $", pid {p}" : "")}",
            ExitCode = result.ExitCode,
            Stderr = result.StderrHead ?? "",
        };

        private (Rendered? Command, HostError? Error) Render(AgentMachine machine)
        {
            try
            {
                var env = spec.Environment.ToDictionary(kv => kv.Key, kv => renderer.Render(kv.Value, machine, spec.Variables), StringComparer.Ordinal);
                var workDir = spec.WorkingDirectory is null ? null : renderer.Render(spec.WorkingDirectory, machine, spec.Variables);
                return (new Rendered(renderer.Render(spec.Command, machine, spec.Variables), env, workDir), null);
            }
            catch (ProvisioningException ex)
            {
                return (null, new HostError(ex.Kind, ex.Message));
            }
        }

        private sealed record Rendered(string Command, IReadOnlyDictionary<string, string> Environment, string? WorkingDirectory);
    }

    private sealed class ListOperation(ProcessSelection selection, WaitPolicy? wait) : ProcessOperation(selection.ThrottleLimit)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            machines.Select(m => new HostPlan(m, $"{(wait is null ? "Read" : "Wait for")} processes {string.Join(", ", selection.For(m))}")).ToArray();

        public override async Task<IReadOnlyList<AgentProcess>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var script = ProcessScripts.List(selection.For(machine));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                var results = await RunScriptAsync(machine, transport, script, "reading its processes", false, ct).ConfigureAwait(false);
                if (wait is null || results.Any(r => r.Error is not null && r.State == AgentProcessState.Unknown) || !results.Any(r => r.IsActive))
                    return results;
                if (wait.Timeout is { } limit && clock.Elapsed >= limit)
                {
                    return results.Select(r => r.IsActive
                        ? r with
                        {
                            Status = HostStatus.TimedOut,
                            Error = new HostError(ErrorKind.CommandTimedOut, $"{machine.Name}: process '{r.ProcessName}' was still {r.State.ToString().ToLowerInvariant()} after {limit.TotalSeconds:0.###} s."),
                        }
                        : r).ToArray();
                }
                await Task.Delay(wait.Poll, ct).ConfigureAwait(false);
            }
        }
    }

    private sealed class StopOperation(ProcessSelection selection, TimeSpan grace) : ProcessOperation(selection.ThrottleLimit)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            machines.Select(m => new HostPlan(m, $"Stop processes {string.Join(", ", selection.For(m))} (TERM, then KILL after {grace.TotalSeconds:0.###} s)")).ToArray();

        public override Task<IReadOnlyList<AgentProcess>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct) =>
            RunScriptAsync(machine, transport, ProcessScripts.Stop(selection.For(machine), grace), "stopping its processes", false, ct);

        public override JournalEntry? Journal(AgentProcess result) => base.Journal(result) is { } entry ? new JournalEntry
        {
            Kind = StepKinds.ProcessStop,
            Detail = entry.Detail,
            ExitCode = entry.ExitCode,
            Stderr = entry.Stderr,
        } : null;
    }

    private sealed class OutputOperation(ProcessSelection selection, int? tail, AgentProcessStream? stream, bool follow)
        : HostOperation<AgentProcessOutputLine>(selection.ThrottleLimit)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            machines.Select(m => new HostPlan(m, $"{(follow ? "Follow" : "Read")} the output of processes {string.Join(", ", selection.For(m))}")).ToArray();

        public override async Task<IReadOnlyList<AgentProcessOutputLine>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var script = ProcessScripts.Output(selection.For(machine), tail, stream is not AgentProcessStream.Stderr, stream is not AgentProcessStream.Stdout, follow);
            var lines = new List<AgentProcessOutputLine>();
            var errors = new List<AgentProcessOutputLine>();
            var started = DateTimeOffset.Now;
            // Reads what arrives and sends each read's complete lines at once, so a followed line is as late as the
            // network makes it and no later (a StreamReader would wait for more).
            async Task ReadAsync(Stream output, CancellationToken token)
            {
                var buffer = new byte[64 * 1024];
                var carry = new List<byte>();
                int read;
                while ((read = await output.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
                {
                    var batch = new List<AgentProcessOutputLine>();
                    var start = 0;
                    for (var i = 0; i < read; i++)
                    {
                        if (buffer[i] != (byte)'\n') continue;
                        carry.AddRange(buffer.AsSpan(start, i - start).ToArray());
                        Take(Encoding.UTF8.GetString(carry.ToArray()), batch);
                        carry.Clear();
                        start = i + 1;
                    }
                    carry.AddRange(buffer.AsSpan(start, read - start).ToArray());
                    if (batch.Count > 0 && follow) Partial(machine, batch);
                    else lines.AddRange(batch);
                }
                if (carry.Count > 0)
                {
                    var last = new List<AgentProcessOutputLine>();
                    Take(Encoding.UTF8.GetString(carry.ToArray()), last);
                    if (follow && last.Count > 0) Partial(machine, last); else lines.AddRange(last);
                }
            }
            void Take(string text, List<AgentProcessOutputLine> batch)
            {
                if (ParseLine(machine, text.TrimEnd('\r'), started) is not { } line) return;
                if (line.Error is not null) errors.Add(line);
                else batch.Add(line);
            }
            var e = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = script, ReadOutput = ReadAsync }, ct).ConfigureAwait(false);
            var (status, error) = HostFailure.FromExecution(machine, e, follow ? "following process output" : "reading process output", null, failed =>
                new HostError(ErrorKind.CommandFailed, $"{machine.Name}: reading process output failed with code {failed.ExitCode}.{HostFailure.LastLine(failed.Stderr)}"));
            if (error is not null) return [Failure(machine, status, error, started)];
            return [.. lines, .. errors];
        }

        public override AgentProcessOutputLine Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) => new()
        {
            Machine = machine,
            Process = "*",
            Line = "",
            Status = status,
            Error = error,
            StartTime = started,
            Time = DateTimeOffset.Now,
        };

        public override JournalEntry? Journal(AgentProcessOutputLine result) => null;

        private AgentProcessOutputLine? ParseLine(AgentMachine machine, string text, DateTimeOffset started)
        {
            var f = text.Split('\t', 4);
            if (f.Length == 4 && f[0] == "L")
            {
                return new AgentProcessOutputLine
                {
                    Machine = machine,
                    Process = f[1],
                    Stream = f[2] == "err" ? AgentProcessStream.Stderr : AgentProcessStream.Stdout,
                    Line = f[3],
                    Status = HostStatus.Succeeded,
                    StartTime = started,
                    Time = DateTimeOffset.Now,
                };
            }
            if (f.Length == 4 && f[0] == "E")
                return Failure(machine, HostStatus.Failed, new HostError(ErrorKind.ProcessNotFound, $"{machine.Name}: there is no process '{f[1]}'."), started) with { Process = f[1] };
            return null;
        }
    }

    /// <summary>Record lines (<c>P\t...</c>) and error lines (<c>E\tname\tkind\tmessage</c>) of the process scripts.</summary>
    private static IReadOnlyList<AgentProcess> Parse(AgentMachine machine, string stdout, DateTimeOffset started, TimeSpan duration)
    {
        var results = new List<AgentProcess>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.TrimEnd('\r').Split('\t');
            if (f[0] == "P" && f.Length >= 12)
            {
                results.Add(new AgentProcess
                {
                    Machine = machine,
                    ProcessName = f[1],
                    State = Enum.TryParse<AgentProcessState>(f[2], out var state) ? state : AgentProcessState.Unknown,
                    ExitCode = Int(f[3]),
                    Pid = Int(f[4]),
                    StartedAt = Time(f[5]),
                    EndedAt = Time(f[6]),
                    Restarts = Int(f[7]) ?? 0,
                    Run = Int(f[8]) ?? 0,
                    StdoutPath = f[9],
                    StderrPath = f[10],
                    StderrHead = f[11].Length == 0 ? null : f[11].Trim(),
                    Status = HostStatus.Succeeded,
                    StartTime = started,
                    Duration = duration,
                });
            }
            else if (f[0] == "E" && f.Length >= 4)
            {
                var kind = f[2] == "ProcessAlreadyRunning" ? ErrorKind.ProcessAlreadyRunning : ErrorKind.ProcessNotFound;
                var message = kind == ErrorKind.ProcessAlreadyRunning
                    ? $"{machine.Name}: process '{f[1]}' is already running ({f[3]}); stop it first, or use -Force to replace it."
                    : $"{machine.Name}: there is no process '{f[1]}'.";
                results.Add(new AgentProcess
                {
                    Machine = machine,
                    ProcessName = f[1],
                    State = kind == ErrorKind.ProcessAlreadyRunning ? AgentProcessState.Running : AgentProcessState.Unknown,
                    Status = HostStatus.Failed,
                    Error = new HostError(kind, message),
                    StartTime = started,
                    Duration = duration,
                });
            }
        }
        return results;
    }

    private static int? Int(string text) => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static DateTimeOffset? Time(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s).ToLocalTime() : null;
}
