using System.Collections.Concurrent;
using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Facts;
using Provisioning.Core.Journal;
using Provisioning.Core.Packages;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Provision;

/// <summary>What Invoke-Provision runs.</summary>
public sealed class ProvisionSpec
{
    /// <summary>The document.</summary>
    public required ProvisionDocument Document { get; init; }
    /// <summary>The steps to run, by name; empty for all, in document order.</summary>
    public IReadOnlyList<string> Steps { get; init; } = [];
    /// <summary>Extra template variables (-Variable); they beat the document's vars.</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }
    /// <summary>Check mode (-WhatIf): every check and diff runs, nothing changes.</summary>
    public bool Check { get; init; }
    /// <summary>The longest one step may take on one host.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; init; } = FanOut.DefaultThrottleLimit;
    /// <summary>Only these steps, per host (for -Resume); null runs the selected steps everywhere.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>>? StepsByHost { get; init; }
}

/// <summary>
/// The engine of Invoke-Provision: for each host, each selected step whose <c>hosts:</c> pattern takes it becomes one
/// script (<see cref="ProvisionScripts"/>) and one round trip; the host's results are one <see cref="ProvisionResult"/>
/// per task and handler, then its <see cref="ProvisionSummary"/>. A failed task skips the rest of its step and the
/// host's later steps; other hosts go on.
/// </summary>
public static class Provisioner
{
    /// <summary>Files a file task may carry inside its step's script.</summary>
    public const int MaxContentBytes = 32 * 1024 * 1024;

    /// <summary>The operation; throws <see cref="ProvisioningException"/> (ProvisionFormat) when a -Step names no step.</summary>
    public static HostOperation<ProvisionRecord> Operation(ProvisionSpec spec, TemplateRenderer? renderer = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        foreach (var name in spec.Steps.Where(n => spec.Document.Steps.All(s => !string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase))))
        {
            throw new ProvisioningException(ErrorKind.ProvisionFormat,
                $"-Step '{name}' is not a step of {spec.Document.File} (its steps: {string.Join(", ", spec.Document.Steps.Select(s => s.Name))}).", name);
        }
        return new Operation_(spec, renderer ?? new TemplateRenderer());
    }

    private sealed class Operation_(ProvisionSpec spec, TemplateRenderer renderer) : HostOperation<ProvisionRecord>(spec.ThrottleLimit)
    {
        private readonly ConcurrentDictionary<(Testbed, string), HashSet<AgentMachine>> _patterns = new();
        private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);

        private IEnumerable<ProvisionStep> Selected => spec.Document.Steps.Where(s =>
            spec.Steps.Count == 0 || spec.Steps.Contains(s.Name, StringComparer.OrdinalIgnoreCase));

        private IReadOnlyList<ProvisionStep> StepsFor(AgentMachine machine) => Selected.Where(s =>
            (s.Hosts is null || machine.Testbed is not { } tb || _patterns.GetOrAdd((tb, s.Hosts), k => HostPattern.Select(k.Item1, k.Item2).ToHashSet()).Contains(machine))
            && (spec.StepsByHost is null || spec.StepsByHost.TryGetValue(machine.Name, out var only) && only.Contains(s.Name))).ToList();

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) => machines.Select(m =>
        {
            var steps = StepsFor(m);
            return new HostPlan(m, steps.Count == 0
                ? "Provision: no step of the document applies to this machine"
                : $"Provision {Path.GetFileName(spec.Document.File)}: steps {string.Join(", ", steps.Select(s => $"{s.Name} ({s.Tasks.Count} tasks)"))}");
        }).ToArray();

        public override void Prepare(IReadOnlyList<AgentMachine> machines)
        {
            // Local files are read once, not once per host; a file too big to travel in a script is refused up front.
            foreach (var task in Selected.SelectMany(s => s.Tasks).Concat(spec.Document.Handlers))
            {
                foreach (var key in new[] { "template", "copy", "src" })
                {
                    if (task.Text(key) is not { } path || key == "src" && task.Type != ProvisionTaskType.Unarchive) continue;
                    // A folder to copy travels as one tar of its files (modes and times kept).
                    var bytes = Directory.Exists(path) ? Tar(path) : new FileInfo(path).Length <= MaxContentBytes ? System.IO.File.ReadAllBytes(path) : null;
                    if (bytes is null || bytes.Length > MaxContentBytes)
                        throw new ProvisioningException(ErrorKind.ProvisionFormat, $"{spec.Document.File}:{task.Line}: {path} is over {MaxContentBytes} bytes, the most a {task.TypeName} task carries (use Send-AgentFile for larger files).", path);
                    _files[path] = bytes;
                }
            }
        }

        public override async Task<IReadOnlyList<ProvisionRecord>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var results = new List<ProvisionRecord>();
            var steps = StepsFor(machine);
            var ran = new List<string>();
            var failedSteps = new List<string>();
            var started = DateTimeOffset.Now;
            var variables = new Dictionary<string, object?>(spec.Document.Variables, StringComparer.OrdinalIgnoreCase);
            foreach (var (k, v) in spec.Variables ?? new Dictionary<string, object?>()) variables[k] = v;

            if (steps.Count == 0) return [Summary(machine, results, ran, failedSteps, started)];
            AgentFacts? facts = null;
            if (NeedsFacts(steps))
            {
                try
                {
                    facts = await AgentFactGatherer.GetAsync(machine, transport, refresh: false, ct).ConfigureAwait(false);
                }
                catch (ProvisioningException ex)
                {
                    var error = new HostError(ex.Kind, ex.Message);
                    results.Add(TaskResult(machine, steps[0].Name, steps[0].Tasks[0], ProvisionTaskStatus.Failed, error.Message, error, null) with { Task = "(facts)", Line = steps[0].Line });
                    return [.. results, Summary(machine, results, [steps[0].Name], [steps[0].Name], started)];
                }
            }
            if (facts is not null) variables["facts"] = facts.ToTemplateValue();

            // A document variable may itself be a template (dir: "/srv/{{ name }}"): rendered for the host, in
            // document order, so a later one can use an earlier one. -Variable still wins.
            foreach (var (key, value) in spec.Document.Variables)
            {
                if (value is not string text || !text.Contains("{{", StringComparison.Ordinal) || spec.Variables?.ContainsKey(key) == true) continue;
                try
                {
                    variables[key] = renderer.Render(text, machine, variables);
                }
                catch (ProvisioningException ex)
                {
                    var error = new HostError(ex.Kind, $"{machine.Name}: vars.{key} ({spec.Document.File}): {Strip(ex.Message, machine)}");
                    results.Add(TaskResult(machine, steps[0].Name, steps[0].Tasks[0], ProvisionTaskStatus.Failed, error.Message, error, null) with { Task = $"(vars.{key})", Line = 1 });
                    return [.. results, Summary(machine, results, [steps[0].Name], [steps[0].Name], started)];
                }
            }

            foreach (var step in steps)
            {
                ran.Add(step.Name);
                var stepResults = await RunStepAsync(machine, transport, step, variables, facts?.PackageManager, ct).ConfigureAwait(false);
                results.AddRange(stepResults);
                if (stepResults.Any(r => r is ProvisionResult { TaskStatus: ProvisionTaskStatus.Failed }))
                {
                    failedSteps.Add(step.Name);
                    break; // as Ansible does: a failed host leaves the play
                }
            }
            results.Add(Summary(machine, results, ran, failedSteps, started));
            return results;
        }

        private static async Task<IReadOnlyList<(string Index, HostError Error)>> StagePackagesAsync(AgentMachine machine, ISshTransport transport,
            IReadOnlyList<RenderedTask> tasks, bool become, CancellationToken ct)
        {
            var errors = new List<(string, HostError)>();
            foreach (var task in tasks.Where(t => t.Task.Type == ProvisionTaskType.Package && t["source"] is "controller" or "auto" && t["state"] is not "absent"))
            {
                var names = task.List("name");
                if (task["version"] is { } version && names.Count == 1) names = [names[0] + "=" + version];
                var source = task["source"] == "controller" ? PackageSource.Controller : PackageSource.Auto;
                var error = await AgentPackages.StageAptAsync(machine, transport, names, source, task["cache"], become, ct).ConfigureAwait(false);
                if (error is not null) errors.Add((task.Index, error));
            }
            return errors;
        }

        private static byte[] Tar(string folder)
        {
            using var buffer = new MemoryStream();
            System.Formats.Tar.TarFile.CreateFromDirectory(folder, buffer, includeBaseDirectory: false);
            return buffer.ToArray();
        }

        private bool NeedsFacts(IEnumerable<ProvisionStep> steps) =>
            steps.SelectMany(s => s.Tasks).Concat(spec.Document.Handlers).Any(t => t.Type == ProvisionTaskType.Package
                || t.Arguments.Values.Any(v => v is string s && s.Contains("facts", StringComparison.OrdinalIgnoreCase))
                || t.Text("template") is { } path && _files.TryGetValue(path, out var bytes) && Encoding.UTF8.GetString(bytes).Contains("facts", StringComparison.OrdinalIgnoreCase));

        private async Task<IReadOnlyList<ProvisionRecord>> RunStepAsync(AgentMachine machine, ISshTransport transport, ProvisionStep step,
            Dictionary<string, object?> variables, string? packageManager, CancellationToken ct)
        {
            var rendered = new List<RenderedTask>();
            HostError? renderError = null;
            var results = new List<ProvisionRecord>();
            for (var i = 0; i < step.Tasks.Count && renderError is null; i++)
            {
                try
                {
                    rendered.Add(Render(step.Tasks[i], i.ToString(System.Globalization.CultureInfo.InvariantCulture), machine, variables));
                }
                catch (ProvisioningException ex)
                {
                    renderError = new HostError(ex.Kind, $"{machine.Name}: step '{step.Name}', task '{step.Tasks[i]}' ({Where(step.Tasks[i])}): {Strip(ex.Message, machine)}");
                }
            }
            var handlers = new List<(RenderedTask, IReadOnlyList<string>)>();
            var handlerErrors = new List<(ProvisionTask Handler, HostError Error)>();
            if (renderError is null)
            {
                for (var h = 0; h < spec.Document.Handlers.Count; h++)
                {
                    var handler = spec.Document.Handlers[h];
                    var by = rendered.Where(r => r.Task.Notify.Contains(handler.Name, StringComparer.OrdinalIgnoreCase)).Select(r => r.Index).ToList();
                    if (by.Count == 0) continue;
                    try
                    {
                        handlers.Add((Render(handler, $"h{h}", machine, variables), by));
                    }
                    catch (ProvisioningException ex)
                    {
                        handlerErrors.Add((handler, new HostError(ex.Kind, $"{machine.Name}: step '{step.Name}', handler '{handler.Name}' ({Where(handler)}): {Strip(ex.Message, machine)}")));
                    }
                }
            }

            var reports = new Dictionary<string, (ProvisionTaskStatus Status, string Message, StringBuilder Diff)>(StringComparer.Ordinal);
            RemoteExecution? e = null;
            HostError? stepError = null;
            if (rendered.Count > 0)
            {
                // The tasks before a template error still run (without handlers); the one that failed to render reports it.
                // Package tasks that may take their files from the controller get them pushed into apt's archives first
                // (the package engine's plan and push), so the step's own apt-get installs with no network on the host.
                var staged = spec.Check || packageManager != "apt" ? [] : await StagePackagesAsync(machine, transport, rendered, step.Become, ct).ConfigureAwait(false);
                var script = ProvisionScripts.Step(rendered, renderError is null && handlerErrors.Count == 0 ? handlers : [], packageManager, spec.Check);
                e = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = script, Sudo = step.Become, Timeout = spec.Timeout }, ct).ConfigureAwait(false);
                var (status, error) = HostFailure.FromExecution(machine, e, $"step '{step.Name}'", spec.Timeout, failed =>
                    new HostError(ErrorKind.ProvisionTaskFailed, $"{machine.Name}: step '{step.Name}' could not run (exit {failed.ExitCode}): {HostFailure.LastLine(failed.Stderr)}"));
                Parse(e.Stdout, reports);
                foreach (var (index, stageError) in staged)
                {
                    if (!reports.TryGetValue(index, out var report) || report.Status == ProvisionTaskStatus.Failed)
                        reports[index] = (ProvisionTaskStatus.Failed, stageError.Message, report.Diff ?? new StringBuilder());
                }
                // A host that could not be reached fails as a step; otherwise (a timeout, Ctrl+C, a script that died)
                // what reported stands, and the first task without a report gets the error.
                if (error is not null && reports.Count == 0 && status == HostStatus.Unreachable)
                    return [TaskResult(machine, step.Name, step.Tasks[0], ProvisionTaskStatus.Failed, error.Message, error, e) with { Task = "(step)", Line = step.Line, Status = status }];
                stepError = error;
            }

            // Each task: its report; or, for the first task without one, the error that stopped the step; then Skipped.
            var stopped = false;
            for (var i = 0; i < step.Tasks.Count; i++)
            {
                var task = step.Tasks[i];
                if (stopped)
                    results.Add(TaskResult(machine, step.Name, task, ProvisionTaskStatus.Skipped, "an earlier task of the step failed", null, e));
                else if (reports.TryGetValue(i.ToString(System.Globalization.CultureInfo.InvariantCulture), out var report))
                {
                    results.Add(TaskResult(machine, step.Name, task, report.Status, report.Message, null, e, report.Diff) with { Task = rendered[i].Title });
                    stopped = report.Status == ProvisionTaskStatus.Failed;
                }
                else
                {
                    // A task that ran but did not report gets what stopped the script; the one that did not render, its template error.
                    var error = (i < rendered.Count ? stepError : renderError) ?? stepError ?? renderError ?? new HostError(ErrorKind.ProvisionTaskFailed,
                        $"{machine.Name}: step '{step.Name}', task '{task}' ({Where(task)}): the host did not report this task (the step's script ended early: {HostFailure.LastLine(e?.Stderr)}).");
                    results.Add(TaskResult(machine, step.Name, task, ProvisionTaskStatus.Failed, error.Message, error, e));
                    stopped = true;
                }
            }
            foreach (var (handler, _) in handlers)
            {
                if (reports.TryGetValue(handler.Index, out var report))
                    results.Add(TaskResult(machine, step.Name, handler.Task, report.Status, report.Message, null, e, report.Diff) with { Task = $"handler {handler.Task.Name}" });
            }
            foreach (var (handler, error) in handlerErrors)
                results.Add(TaskResult(machine, step.Name, handler, ProvisionTaskStatus.Failed, error.Message, error, e) with { Task = $"handler {handler.Name}" });
            return results;
        }

        private static string Strip(string message, AgentMachine machine) =>
            message.StartsWith(machine.Name + ": ", StringComparison.Ordinal) ? message[(machine.Name.Length + 2)..] : message;

        private string Where(ProvisionTask task) => $"{spec.Document.File}:{task.Line}";

        // A failed task without an error of its own (its report said so) gets ProvisionTaskFailed naming where it is.
        private ProvisionResult TaskResult(AgentMachine machine, string step, ProvisionTask task, ProvisionTaskStatus status, string message, HostError? error,
            RemoteExecution? e, StringBuilder? diff = null)
        {
            if (status == ProvisionTaskStatus.Failed)
                error ??= new HostError(ErrorKind.ProvisionTaskFailed, $"{machine.Name}: step '{step}', task '{task}' ({Where(task)}): {message}");
            return new ProvisionResult
            {
                Machine = machine,
                Status = error is null ? HostStatus.Succeeded : HostFailure.StatusOf(error.Kind),
                Error = error,
                Step = step,
                Task = task.ToString(),
                TaskType = task.Type,
                TaskStatus = status,
                Message = spec.Check && status == ProvisionTaskStatus.Changed ? "would change: " + message : message,
                Diff = diff is { Length: > 0 } ? diff.ToString() : null,
                Line = task.Line,
                CheckMode = spec.Check,
                StartTime = e?.StartTime ?? DateTimeOffset.Now,
                Duration = e?.Duration ?? TimeSpan.Zero,
            };
        }

        private ProvisionSummary Summary(AgentMachine machine, List<ProvisionRecord> results, IReadOnlyList<string> ran, IReadOnlyList<string> failed, DateTimeOffset started)
        {
            var tasks = results.OfType<ProvisionResult>().ToList();
            return new ProvisionSummary
            {
                Machine = machine,
                Status = failed.Count == 0 ? HostStatus.Succeeded : tasks.FirstOrDefault(t => t.Error is not null)?.Status ?? HostStatus.Failed,
                Ok = tasks.Count(t => t.TaskStatus == ProvisionTaskStatus.Ok),
                Changed = tasks.Count(t => t.TaskStatus == ProvisionTaskStatus.Changed),
                Failed = tasks.Count(t => t.TaskStatus == ProvisionTaskStatus.Failed),
                Skipped = tasks.Count(t => t.TaskStatus == ProvisionTaskStatus.Skipped),
                Steps = ran,
                FailedSteps = failed,
                CheckMode = spec.Check,
                StartTime = started,
                Duration = DateTimeOffset.Now - started,
            };
        }

        private static void Parse(string stdout, Dictionary<string, (ProvisionTaskStatus, string, StringBuilder)> reports)
        {
            var diffs = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
            foreach (var raw in stdout.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                if (line.StartsWith("D\t", StringComparison.Ordinal))
                {
                    var f = line.Split('\t', 3);
                    if (f.Length == 3) (diffs.TryGetValue(f[1], out var b) ? b : diffs[f[1]] = new StringBuilder()).Append(f[2]).Append('\n');
                }
                else if (line.StartsWith("R\t", StringComparison.Ordinal))
                {
                    var f = line.Split('\t', 4);
                    if (f.Length < 3) continue;
                    var status = f[2] switch
                    {
                        "changed" => ProvisionTaskStatus.Changed,
                        "failed" => ProvisionTaskStatus.Failed,
                        "skipped" => ProvisionTaskStatus.Skipped,
                        _ => ProvisionTaskStatus.Ok,
                    };
                    reports[f[1]] = (status, f.Length > 3 ? f[3].Trim() : "", diffs.TryGetValue(f[1], out var d) ? d : new StringBuilder());
                }
            }
        }

        private RenderedTask Render(ProvisionTask task, string index, AgentMachine machine, IReadOnlyDictionary<string, object?> variables)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var lists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var (key, value) in task.Arguments)
            {
                if (value is string s && key is not ("template" or "copy" or "src")) values[key] = renderer.Render(s, machine, variables);
                else if (value is string path) values[key] = path;
                else if (value is IReadOnlyList<string> list) lists[key] = list.Select(x => renderer.Render(x, machine, variables)).ToList();
            }
            byte[]? content = null;
            if (task.Type == ProvisionTaskType.File)
            {
                if (values.TryGetValue("content", out var text)) content = Encoding.UTF8.GetBytes(text);
                else if (task.Text("template") is { } template) content = Encoding.UTF8.GetBytes(renderer.Render(Encoding.UTF8.GetString(_files[template]), machine, variables));
                else if (task.Text("copy") is { } copy) content = _files[copy];
            }
            else if (task.Type == ProvisionTaskType.Unarchive) content = _files[task.Text("src")!];
            // The title is the task's name rendered for this host; a name that does not render stays as written.
            string title;
            try
            {
                title = $"{task.TypeName}: {renderer.Render(task.Name, machine, variables)}";
            }
            catch (ProvisioningException)
            {
                title = task.ToString();
            }
            return new RenderedTask(index, task, values, lists, content, title);
        }

        public override ProvisionRecord Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            new ProvisionSummary { Machine = machine, Status = status, Error = error, Failed = 1, CheckMode = spec.Check, StartTime = started };

        public override JournalEntry? Journal(ProvisionRecord result) => result switch
        {
            ProvisionResult r => new JournalEntry
            {
                Kind = StepKinds.Provision,
                Detail = ProvisionResume.Detail(spec.Document.File, r),
                Stdout = r.Diff ?? "",
            },
            _ => null,
        };
    }
}
