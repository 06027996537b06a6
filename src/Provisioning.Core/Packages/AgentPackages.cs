using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Packages;

/// <summary>
/// Software onto agents, with or without their network: the engine operations behind Install-, Uninstall-, Save-
/// and Get-AgentPackage. A host whose packages are already as asked costs one round trip and nothing is sent; an
/// install costs two (the agent's own plan; then the missing files, pushed with Send-AgentFile's receiver, and the
/// install). Files from the controller come from its <see cref="PackageCache"/>, checked against the hashes of the
/// host's own package lists.
/// </summary>
public static partial class AgentPackages
{
    /// <summary>The host variable that names pip's command on a host (a virtual environment's <c>bin/pip</c>).</summary>
    public const string PipExecutableVariable = "pip_executable";

    /// <summary>Installs packages (or local package files) on each host.</summary>
    /// <exception cref="ProvisioningException">A name or file cannot be used (<see cref="ErrorKind.PackageSpecInvalid"/>, <see cref="ErrorKind.LocalPathNotFound"/>).</exception>
    public static HostOperation<PackageResult> Install(PackageInstallSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var locals = spec.Paths.Select(LocalPackageFile.Read).ToArray();
        var managers = locals.Select(l => l.Manager).Distinct().ToArray();
        if (managers.Length > 1 || (managers.Length == 1 && spec.Manager is { } m && m != managers[0]))
            throw new ProvisioningException(ErrorKind.PackageSpecInvalid, "-Path files must all be of one manager (all .deb, all .whl or all .tgz), the one -Manager names.", string.Join(", ", spec.Paths));
        var manager = managers.Length == 1 ? managers[0] : spec.Manager ?? PackageManager.Apt;
        var requests = locals.Length > 0
            ? locals.Select(l => new PackageRequest(l.Name, l.Version)).ToArray()
            : spec.Names.Select(n => PackageRequest.Parse(n, manager, spec.Version)).ToArray();
        if (requests.Length == 0) throw new ProvisioningException(ErrorKind.PackageSpecInvalid, "No package was named.", "-Name");
        return new InstallOperation(spec, manager, requests, locals);
    }

    /// <summary>Removes packages from each host.</summary>
    /// <exception cref="ProvisioningException">A name cannot be used (<see cref="ErrorKind.PackageSpecInvalid"/>).</exception>
    public static HostOperation<PackageResult> Uninstall(PackageRemoveSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var requests = spec.Names.Select(n => PackageRequest.Parse(n, spec.Manager)).ToArray();
        if (requests.Length == 0) throw new ProvisioningException(ErrorKind.PackageSpecInvalid, "No package was named.", "-Name");
        return new RemoveOperation(spec, requests);
    }

    /// <summary>Fills the controller's cache with what each host would need (apt: resolved by the host itself).</summary>
    /// <exception cref="ProvisioningException">A name cannot be used (<see cref="ErrorKind.PackageSpecInvalid"/>).</exception>
    public static HostOperation<PackageResult> Save(PackageSaveSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var requests = spec.Names.Select(n => PackageRequest.Parse(n, spec.Manager, spec.Version)).ToArray();
        if (requests.Length == 0) throw new ProvisioningException(ErrorKind.PackageSpecInvalid, "No package was named.", "-Name");
        return new SaveOperation(spec, requests);
    }

    /// <summary>Lists the installed packages of each host whose names match.</summary>
    public static HostOperation<InstalledPackage> Get(PackageQuerySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ListOperation(spec);
    }

    /// <summary>
    /// For provisioning's package task: the plan of an apt install of <paramref name="names"/> and, when the files must
    /// come from the controller, their push into apt's archives, without installing: the step's own apt-get then
    /// finds them there. Null when the host is ready (or already has the packages); otherwise why not.
    /// </summary>
    public static async Task<HostError?> StageAptAsync(AgentMachine machine, ISshTransport transport, IReadOnlyList<string> names, PackageSource source,
        string? cachePath, bool sudo, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(machine);
        InstallOperation operation;
        try
        {
            operation = (InstallOperation)Install(new PackageInstallSpec { Names = names, Manager = PackageManager.Apt, Source = source, CachePath = cachePath, Sudo = sudo });
            operation.Prepare([machine]);
        }
        catch (ProvisioningException ex)
        {
            return new HostError(ex.Kind, $"{machine.Name}: {ex.Message}");
        }
        return await operation.StageAsync(machine, transport, ct).ConfigureAwait(false);
    }

    /// <summary>pip's command on <paramref name="machine"/>: its <c>pip_executable</c> variable, or <c>python3 -m pip</c>.</summary>
    public static string PipCommand(AgentMachine machine) =>
        machine.Variables.TryGetValue(PipExecutableVariable, out var v) && v?.ToString() is { Length: > 0 } text ? text : "python3 -m pip";

    private static string Tool(AgentMachine machine, PackageManager manager) => manager == PackageManager.Pip ? PipCommand(machine) : "npm";

    private static string Lower(PackageManager manager) => manager.ToString().ToLowerInvariant();

    /// <summary>Runs one script and reads its tagged lines; a transport failure comes back as the host's status and error.</summary>
    private static async Task<(PackageScriptOutput? Output, HostStatus Status, HostError? Error, RemoteExecution Run)> RunScriptAsync(
        AgentMachine machine, ISshTransport transport, PackageManager manager, string script, string what, TimeSpan? timeout, bool sudo,
        Func<Stream, CancellationToken, Task>? input, CancellationToken ct)
    {
        var run = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = script, Timeout = timeout, Sudo = sudo, WriteInput = input }, ct).ConfigureAwait(false);
        var (status, error) = HostFailure.FromExecution(machine, run, what, timeout, failed => new HostError(
            failed.ExitCode == 3 ? ErrorKind.TransferFailed : ErrorKind.PackageInstallFailed,
            $"{machine.Name}: {what} failed with code {failed.ExitCode}:{HostFailure.LastLine(failed.Stderr)}"));
        return (error is null ? PackageScriptOutput.Parse(run.Stdout, manager) : null, status, error, run);
    }

    /// <summary>What the operations share: the result of a host that could not run, and the journal entry.</summary>
    private abstract class PackageOperation(int throttleLimit, PackageManager manager, IReadOnlyList<PackageRequest> requests) : HostOperation<PackageResult>(throttleLimit)
    {
        protected PackageManager Manager => manager;
        protected IReadOnlyList<PackageRequest> Requests => requests;

        public override PackageResult Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            WithHost(Result(machine, requests.Count == 1 ? requests[0] : new PackageRequest(string.Join(", ", requests.Select(r => r.Name)), null),
                PackageStatus.Failed, started) with { Error = error, Message = error.Message }, status);

        public override JournalEntry Journal(PackageResult result) => new()
        {
            Kind = StepKinds.Package,
            Detail = $"{Lower(result.Manager)} {result.Name}{(result.Version is { Length: > 0 } v ? " " + v : "")}: {result.Status}" +
                     (result.Source is { } s ? $" ({s.ToString().ToLowerInvariant()}{(result.BytesSent > 0 ? $", {result.BytesSent} bytes sent" : "")})" : ""),
            Stderr = result.Error is null ? "" : result.Message,
        };

        protected PackageResult Result(AgentMachine machine, PackageRequest request, PackageStatus status, DateTimeOffset started, string? version = null) => WithHost(new PackageResult
        {
            Machine = machine,
            Name = request.Name,
            Manager = manager,
            Version = version ?? request.Version,
            Status = status,
            StartTime = started,
            Duration = DateTimeOffset.Now - started,
        }, status == PackageStatus.Failed ? HostStatus.Failed : HostStatus.Succeeded);

        protected IReadOnlyList<PackageResult> FailAll(AgentMachine machine, IEnumerable<PackageRequest> which, HostStatus status, HostError error, DateTimeOffset started) =>
            which.Select(r => WithHost(Result(machine, r, PackageStatus.Failed, started) with { Error = error, Message = error.Message }, status)).ToArray();

        // The base record's Status (the host's outcome) is hidden by the package status; set it through the base type.
        protected static PackageResult WithHost(PackageResult result, HostStatus status) => (PackageResult)((HostOutcome)result with { Status = status });
    }

    private sealed class InstallOperation(PackageInstallSpec spec, PackageManager manager, IReadOnlyList<PackageRequest> requests, IReadOnlyList<LocalPackageFile> locals)
        : PackageOperation(spec.ThrottleLimit, manager, requests)
    {
        private PackageCache? _cache;
        private ControllerDownloads? _downloads;

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) => machines.Select(m => new HostPlan(m,
            locals.Count > 0
                ? $"Install {Lower(Manager)} package files {string.Join(", ", locals.Select(l => l.FileName))}"
                : $"Install {Lower(Manager)} packages {string.Join(", ", Requests.Select(r => r.ToArgument(Manager)))} (source {spec.Source})")).ToArray();

        public override void Prepare(IReadOnlyList<AgentMachine> machines)
        {
            if (locals.Count > 0 || spec.Source == PackageSource.Agent) return;
            _cache = PackageCache.Open(spec.CachePath ?? PackageCache.DefaultRoot);
            _downloads = new ControllerDownloads(_cache);
        }

        public override Task<IReadOnlyList<PackageResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct) =>
            Manager == PackageManager.Apt ? AptAsync(machine, transport, ct) : ToolAsync(machine, transport, ct);

        private async Task<IReadOnlyList<PackageResult>> AptAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var started = DateTimeOffset.Now;
            var arguments = Requests.Select(r => r.ToArgument(PackageManager.Apt)).ToArray();
            var probe = spec.Source == PackageSource.Auto && locals.Count == 0;
            var (plan, status, error, _) = await RunScriptAsync(machine, transport, Manager,
                PackageScripts.AptPlan(arguments, probe, save: false), "planning the install", spec.Timeout, spec.Sudo, null, ct).ConfigureAwait(false);
            if (plan is null) return FailAll(machine, Requests, status, error!, started);
            if (plan.MissingTool is { } tool) return FailAll(machine, Requests, HostStatus.Failed, ManagerMissing(machine, tool), started);

            var results = new List<PackageResult>();
            var todo = new List<PackageRequest>();
            for (var i = 0; i < Requests.Count; i++)
            {
                var installed = plan.InstalledVersion(arguments[i]);
                if (installed is not null && (Requests[i].Version is null || installed == Requests[i].Version))
                    results.Add(Result(machine, Requests[i], PackageStatus.AlreadyPresent, started, installed));
                else todo.Add(Requests[i]);
            }
            if (todo.Count == 0) return results;

            if (locals.Count > 0)
            {
                var files = locals.Where(l => todo.Any(t => t.Name == l.Name)).ToArray();
                var bytes = files.Sum(f => f.Size);
                if (spec.Check) return [.. results, .. Planned(machine, todo, started, $"would install {string.Join(", ", files.Select(f => f.FileName))}", PackageSource.Controller, bytes)];
                var uploads = files.Select(f => Upload(f.FileName, f.FullPath, f.Size)).ToArray();
                var staged = files.Select(f => "./" + f.FileName).ToArray();
                return [.. results, .. await InstallAptAsync(machine, transport, todo, uploads, nonce => PackageScripts.AptInstall(staged, todo.Select(t => t.Name).ToArray(), nonce,
                    PackageScripts.StagingDir(PackageManager.Apt), noDownload: false, spec.LockTimeout), PackageSource.Controller, bytes, started, ct).ConfigureAwait(false)];
            }

            if (plan.Errors.Count > 0) return [.. results, .. ResolutionFailures(machine, todo, plan, started)];
            // Files already in the host's archives with the right hash stay there; only the others would travel.
            var lacking = plan.Uris.Where(u => !(plan.InArchives.TryGetValue(u.File, out var have) && string.Equals(have, ExpectedSha(plan, u), StringComparison.OrdinalIgnoreCase))).ToArray();
            var route = spec.Source switch
            {
                PackageSource.Agent => PackageSource.Agent,
                PackageSource.Controller => PackageSource.Controller,
                _ => lacking.Length == 0 || (plan.Reachable.Count > 0 && plan.Reachable.Values.All(v => v)) ? PackageSource.Agent : PackageSource.Controller,
            };
            var wouldInstall = plan.Planned.Count == 0 ? string.Join(", ", todo.Select(t => t.Name)) : string.Join(", ", plan.Planned.Select(p => $"{p.Name} {p.Version}"));
            var sendBytes = route == PackageSource.Controller ? lacking.Sum(u => u.Size) : 0;
            if (spec.Check)
            {
                var from = route == PackageSource.Controller
                    ? $" from the controller ({lacking.Length} of {plan.Uris.Count} files, {sendBytes} bytes to send)"
                    : $" from the agent's repositories{(lacking.Length > 0 ? $" ({lacking.Length} files to download)" : "")}";
                return [.. results, .. Planned(machine, todo, started, $"would install {wouldInstall}{from}", route, sendBytes, plan)];
            }

            var names = todo.Select(t => t.Name).ToArray();
            if (route == PackageSource.Agent)
            {
                return [.. results, .. await InstallAptAsync(machine, transport, todo, [], _ => PackageScripts.AptInstall(todo.Select(t => t.ToArgument(PackageManager.Apt)).ToArray(),
                    names, null, PackageScripts.AptArchives, noDownload: false, spec.LockTimeout), route, 0, started, ct).ConfigureAwait(false)];
            }
            var pushes = new List<UploadFile>();
            try
            {
                foreach (var uri in lacking) pushes.Add(Upload(uri.File, await CachedAptFileAsync(machine, plan, uri, ct).ConfigureAwait(false), uri.Size));
            }
            catch (ProvisioningException ex)
            {
                return [.. results, .. FailAll(machine, todo, HostStatus.Failed, new HostError(ex.Kind, $"{machine.Name} ({plan.Release}): {ex.Message}"), started)];
            }
            // The plan resolved the closure already: dpkg installs exactly its files, with no second resolution.
            var closure = plan.Uris.Select(u => u.File).ToArray();
            return [.. results, .. await InstallAptAsync(machine, transport, todo, pushes, nonce => PackageScripts.AptInstallFiles(closure, names, nonce, spec.LockTimeout),
                route, sendBytes, started, ct).ConfigureAwait(false)];
        }

        private static string? ExpectedSha(PackageScriptOutput plan, PackageScriptOutput.AptUri uri) => uri.Sha256
            ?? (plan.ListedFiles.GetValueOrDefault(Path.GetFileName(Uri.UnescapeDataString(uri.Uri.AbsolutePath))) ?? plan.ListedFiles.GetValueOrDefault(uri.File))?.Sha256;

        public async Task<HostError?> StageAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var arguments = Requests.Select(r => r.ToArgument(PackageManager.Apt)).ToArray();
            var (plan, _, error, _) = await RunScriptAsync(machine, transport, Manager,
                PackageScripts.AptPlan(arguments, spec.Source == PackageSource.Auto, save: false), "planning the package files", spec.Timeout, spec.Sudo, null, ct).ConfigureAwait(false);
            if (plan is null) return error;
            if (plan.MissingTool is not null || plan.Uris.Count == 0) return null; // the step's own script says what is wrong
            if (plan.Errors.Count > 0) return ResolutionFailures(machine, Requests, plan, DateTimeOffset.Now)[0].Error;
            if (spec.Source == PackageSource.Auto && plan.Reachable.Count > 0 && plan.Reachable.Values.All(v => v)) return null;
            var lacking = plan.Uris.Where(u => !(plan.InArchives.TryGetValue(u.File, out var have) && string.Equals(have, ExpectedSha(plan, u), StringComparison.OrdinalIgnoreCase))).ToArray();
            if (lacking.Length == 0) return null;
            var pushes = new List<UploadFile>();
            try
            {
                foreach (var uri in lacking) pushes.Add(Upload(uri.File, await CachedAptFileAsync(machine, plan, uri, ct).ConfigureAwait(false), uri.Size));
            }
            catch (ProvisioningException ex)
            {
                return new HostError(ex.Kind, $"{machine.Name} ({plan.Release}): {ex.Message}");
            }
            var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
            var archive = new UploadArchive(nonce, pushes);
            var run = await transport.ExecuteAsync(machine, new RemoteExecutionRequest
            {
                Command = TransferScripts.Receive(PackageScripts.AptArchives, nonce, exactMode: false),
                WriteInput = archive.WriteAsync,
                Sudo = spec.Sudo,
                Timeout = spec.Timeout,
            }, ct).ConfigureAwait(false);
            var (_, pushError) = HostFailure.FromExecution(machine, run, "sending the package files", spec.Timeout, failed =>
                new HostError(ErrorKind.TransferFailed, $"{machine.Name}: sending the package files into {PackageScripts.AptArchives} failed (exit {failed.ExitCode}):{HostFailure.LastLine(failed.Stderr)}"));
            return archive.LocalFailure is { } local ? new HostError(ErrorKind.TransferFailed, $"{machine.Name}: {local}") : pushError;
        }

        // Each file the host lacks, by the SHA-256 its own (signed) lists give: from the cache, or downloaded into it once.
        private async Task<string> CachedAptFileAsync(AgentMachine machine, PackageScriptOutput plan, PackageScriptOutput.AptUri uri, CancellationToken ct)
        {
            var listed = plan.ListedFiles.GetValueOrDefault(Path.GetFileName(Uri.UnescapeDataString(uri.Uri.AbsolutePath)))
                         ?? plan.ListedFiles.GetValueOrDefault(uri.File);
            var sha = uri.Sha256 ?? listed?.Sha256
                ?? throw new ProvisioningException(ErrorKind.PackageCacheHashMismatch, $"the host's package lists give no SHA-256 for {uri.File}, so a copy from the controller could not be checked: it was not sent.", uri.File);
            if (_cache!.FindBySha256(sha) is { } entry) return await _cache.VerifiedPathAsync(entry, ct).ConfigureAwait(false);
            var planned = plan.Planned.FirstOrDefault(p => p.Name == listed?.Name);
            return await _cache.DownloadAsync(uri.Uri, new PackageCacheEntry
            {
                Manager = PackageManager.Apt,
                Name = listed?.Name ?? uri.File.Split('_')[0],
                Version = listed?.Version ?? "",
                Architecture = planned.Architecture ?? plan.Architecture,
                Release = plan.Release,
                Sha256 = sha.ToLowerInvariant(),
                Size = uri.Size,
                File = $"apt/{plan.Release}/{uri.File}",
            }, ct).ConfigureAwait(false);
        }

        private async Task<IReadOnlyList<PackageResult>> InstallAptAsync(AgentMachine machine, ISshTransport transport, IReadOnlyList<PackageRequest> todo,
            IReadOnlyList<UploadFile> pushes, Func<string?, string> script, PackageSource route, long bytes, DateTimeOffset started, CancellationToken ct)
        {
            var nonce = pushes.Count > 0 ? Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant() : null;
            var archive = nonce is null ? null : new UploadArchive(nonce, pushes);
            var (after, status, error, _) = await RunScriptAsync(machine, transport, Manager, script(nonce),
                "installing " + string.Join(", ", todo.Select(t => t.Name)), spec.Timeout, spec.Sudo, archive is null ? null : archive.WriteAsync, ct).ConfigureAwait(false);
            if (archive?.LocalFailure is { } local) return FailAll(machine, todo, HostStatus.Failed, new HostError(ErrorKind.TransferFailed, $"{machine.Name}: {local}; nothing was installed."), started);
            if (after is null) return FailAll(machine, todo, status, error!, started);
            var installed = todo.Where(t => after.InstalledVersion(t.Name) is { } v && (t.Version is null || v == t.Version)).ToHashSet();
            var said = string.Join(" ", after.Output.Where(l => l.Length > 0).TakeLast(12));
            var results = new List<PackageResult>();
            var first = true;
            foreach (var request in todo)
            {
                if (installed.Contains(request))
                {
                    results.Add(Result(machine, request, PackageStatus.Installed, started, after.InstalledVersion(request.Name)) with
                    {
                        Source = route,
                        BytesSent = first ? bytes : 0,
                        Message = (after.Configured ? "dpkg --configure -a repaired an interrupted install first. " : "") + (after.ExitCode is not (null or 0) ? said : ""),
                    });
                    first = false;
                    continue;
                }
                var state = after.States.GetValueOrDefault(request.Name);
                var kind = said.Contains("Could not get lock", StringComparison.Ordinal) || said.Contains("frontend lock", StringComparison.OrdinalIgnoreCase)
                           || said.Contains("database is locked", StringComparison.Ordinal)
                    ? ErrorKind.PackageDatabaseLocked
                    : installed.Count > 0 || state.Status is "half-configured" or "unpacked" or "half-installed" ? ErrorKind.PackagePartiallyInstalled : ErrorKind.PackageInstallFailed;
                var message = kind switch
                {
                    ErrorKind.PackageDatabaseLocked => $"{machine.Name}: the package database is locked by another apt or dpkg, still after {spec.LockTimeout.TotalSeconds:0} s; {request.Name} was not installed. {said}",
                    ErrorKind.PackagePartiallyInstalled => $"{machine.Name}: a partial install: {request.Name} is {state.Status ?? "not installed"}" +
                        (installed.Count > 0 ? $" while {string.Join(", ", installed.Select(i => i.Name))} {(installed.Count == 1 ? "was" : "were")} installed" : "") + $". apt-get said: {said}",
                    _ => $"{machine.Name}: apt-get could not install {request.ToArgument(PackageManager.Apt)} (exit {after.ExitCode}): {said}",
                };
                results.Add(Result(machine, request, PackageStatus.Failed, started, state.Version is { Length: > 0 } v ? v : null) with
                {
                    Source = route,
                    Error = new HostError(kind, message),
                    Message = message,
                });
            }
            return results;
        }

        private IReadOnlyList<PackageResult> ResolutionFailures(AgentMachine machine, IReadOnlyList<PackageRequest> todo, PackageScriptOutput plan, DateTimeOffset started)
        {
            var text = string.Join(" ", plan.Errors);
            return todo.Select(request =>
            {
                var missing = plan.Errors.Any(e => e.Contains($"'{request.Name}'", StringComparison.Ordinal) || e.Contains($"package {request.Name}", StringComparison.Ordinal)
                    || e.Contains($"'{request.Name}' has no installation candidate", StringComparison.Ordinal));
                var locked = text.Contains("Could not get lock", StringComparison.Ordinal);
                var error = locked ? new HostError(ErrorKind.PackageDatabaseLocked, $"{machine.Name}: the package database is locked by another apt: {text}")
                    : missing ? new HostError(ErrorKind.PackageNotFound,
                        $"{machine.Name} ({plan.Release}): no source has the package {request.ToArgument(PackageManager.Apt)}: {string.Join(" ", plan.Errors.Where(e => e.Contains(request.Name, StringComparison.Ordinal)))}")
                    : new HostError(ErrorKind.PackageInstallFailed, $"{machine.Name} ({plan.Release}): apt cannot install {request.ToArgument(PackageManager.Apt)}: {text}");
                return WithHost(Result(machine, request, PackageStatus.Failed, started) with { Error = error, Message = error.Message }, HostStatus.Failed);
            }).ToArray();
        }

        private async Task<IReadOnlyList<PackageResult>> ToolAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var started = DateTimeOffset.Now;
            var tool = Tool(machine, Manager);
            var (plan, status, error, _) = await RunScriptAsync(machine, transport, Manager,
                PackageScripts.ToolPlan(Manager, tool, spec.Source == PackageSource.Auto && locals.Count == 0), "planning the install", spec.Timeout, spec.Sudo, null, ct).ConfigureAwait(false);
            if (plan is null) return FailAll(machine, Requests, status, error!, started);
            if (plan.MissingTool is { } missingTool) return FailAll(machine, Requests, HostStatus.Failed, ManagerMissing(machine, missingTool), started);

            var results = new List<PackageResult>();
            var todo = new List<PackageRequest>();
            foreach (var request in Requests)
            {
                if (InstalledVersion(plan.Installed, request) is { } v && (request.Version is null || v == request.Version))
                    results.Add(Result(machine, request, PackageStatus.AlreadyPresent, started, v));
                else todo.Add(request);
            }
            if (todo.Count == 0) return results;

            var route = locals.Count > 0 ? PackageSource.Controller : spec.Source switch
            {
                PackageSource.Agent => PackageSource.Agent,
                PackageSource.Controller => PackageSource.Controller,
                _ => plan.Reachable.Values.Any(v => v) ? PackageSource.Agent : PackageSource.Controller,
            };
            var files = new List<(string FileName, string Path, long Size, string Sha256)>();
            var arguments = todo.Select(t => t.ToArgument(Manager)).ToList();
            if (locals.Count > 0)
            {
                var chosen = locals.Where(l => todo.Any(t => t.Names(l.Name, Manager))).ToArray();
                files.AddRange(chosen.Select(l => (l.FileName, l.FullPath, l.Size, l.Sha256)));
                if (Manager == PackageManager.Npm) arguments = chosen.Select(l => "./" + l.FileName).ToList();
            }
            else if (route == PackageSource.Controller)
            {
                try
                {
                    var closure = await ClosureAsync(todo, plan.Installed, ct).ConfigureAwait(false);
                    foreach (var entry in closure)
                        files.Add((Path.GetFileName(entry.File), spec.Check ? Path.Combine(_cache!.Root, entry.File) : await _cache!.VerifiedPathAsync(entry, ct).ConfigureAwait(false), entry.Size, entry.Sha256));
                    if (Manager == PackageManager.Npm) arguments = closure.Select(e => "./" + Path.GetFileName(e.File)).ToList();
                }
                catch (ProvisioningException ex)
                {
                    return [.. results, .. FailAll(machine, todo, HostStatus.Failed, new HostError(ex.Kind, $"{machine.Name}: {ex.Message}"), started)];
                }
            }
            var pushes = files.Where(f => !plan.Staged.Contains(f.Sha256)).ToArray();
            var bytes = pushes.Sum(f => f.Size);
            if (spec.Check)
                return [.. results, .. Planned(machine, todo, started, $"would install {string.Join(", ", arguments)} from {(route == PackageSource.Agent ? "the agent's index" : $"the controller ({pushes.Length} files, {bytes} bytes to send)")}", route, bytes)];

            var nonce = pushes.Length > 0 ? Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant() : null;
            var archive = nonce is null ? null : new UploadArchive(nonce, pushes.Select(p => Upload(p.FileName, p.Path, p.Size)).ToArray());
            var (after, installStatus, installError, _) = await RunScriptAsync(machine, transport, Manager,
                PackageScripts.ToolInstall(Manager, tool, arguments, nonce, offline: route == PackageSource.Controller),
                "installing " + string.Join(", ", todo.Select(t => t.Name)), spec.Timeout, spec.Sudo, archive is null ? null : archive.WriteAsync, ct).ConfigureAwait(false);
            if (after is null) return [.. results, .. FailAll(machine, todo, installStatus, installError!, started)];
            var said = string.Join(" ", after.Output.Where(l => l.Length > 0).TakeLast(12));
            var any = false;
            foreach (var request in todo)
            {
                var version = InstalledVersion(after.Installed, request);
                if (version is not null && (request.Version is null || version == request.Version))
                {
                    results.Add(Result(machine, request, PackageStatus.Installed, started, version) with { Source = route, BytesSent = any ? 0 : bytes });
                    any = true;
                    continue;
                }
                var message = $"{machine.Name}: {Lower(Manager)} could not install {request.ToArgument(Manager)} (exit {after.ExitCode}): {said}";
                results.Add(Result(machine, request, PackageStatus.Failed, started) with { Source = route, Error = new HostError(ErrorKind.PackageInstallFailed, message), Message = message });
            }
            if (any && results.Any(r => r.Status == PackageStatus.Failed))
                results = results.Select(r => r.Error is { Kind: ErrorKind.PackageInstallFailed } e ? r with { Error = new HostError(ErrorKind.PackagePartiallyInstalled, "a partial install: " + e.Message) } : r).ToList();
            return results;
        }

        // The requested packages' newest cached files and, from their recorded requirements, those of their dependencies
        // the host does not have yet. A request the cache lacks is downloaded by the controller first, when it can.
        private async Task<IReadOnlyList<PackageCacheEntry>> ClosureAsync(IReadOnlyList<PackageRequest> todo, IReadOnlyDictionary<string, string> onHost, CancellationToken ct)
        {
            var missing = todo.Where(t => _cache!.Find(Manager, t).Count == 0).ToArray();
            if (missing.Length > 0 && !spec.Check) await _downloads!.EnsureAsync(Manager, missing, ct).ConfigureAwait(false);
            var closure = new List<PackageCacheEntry>();
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var queue = new Queue<PackageRequest>(todo);
            var top = todo.ToHashSet();
            while (queue.TryDequeue(out var request))
            {
                var key = Manager == PackageManager.Pip ? PackageRequest.NormalizePip(request.Name) : request.Name;
                if (!seen.Add(key)) continue;
                if (!top.Contains(request) && InstalledVersion(onHost, request) is not null) continue;
                var entry = _cache!.Find(Manager, request).FirstOrDefault();
                if (entry is null)
                {
                    if (!top.Contains(request)) continue; // a dependency the cache lacks: the Manager names it if the host needs it
                    throw new ProvisioningException(ErrorKind.PackageNotFound,
                        $"no source has the {Lower(Manager)} package {request.ToArgument(Manager)}: it is not in the package cache '{_cache.Root}' and the controller could not download it.", request.Name);
                }
                closure.Add(entry);
                foreach (var dependency in entry.Requires) queue.Enqueue(new PackageRequest(dependency, null));
            }
            closure.Reverse(); // dependencies first (npm installs the files in the order given)
            return closure;
        }

        private IEnumerable<PackageResult> Planned(AgentMachine machine, IReadOnlyList<PackageRequest> todo, DateTimeOffset started, string message, PackageSource route, long bytes,
            PackageScriptOutput? plan = null) =>
            todo.Select((r, i) => Result(machine, r, PackageStatus.Planned, started, plan?.Planned.FirstOrDefault(p => p.Name == r.Name).Version ?? r.Version) with
            {
                Message = message, Source = route, BytesSent = i == 0 ? bytes : 0,
            });
    }

    private sealed class RemoveOperation(PackageRemoveSpec spec, IReadOnlyList<PackageRequest> Requests) : PackageOperation(spec.ThrottleLimit, spec.Manager, Requests)
    {
        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) => machines.Select(m => new HostPlan(m,
            $"{(spec.Purge ? "Purge" : "Remove")} {Lower(spec.Manager)} packages {string.Join(", ", Requests.Select(r => r.Name))}")).ToArray();

        public override async Task<IReadOnlyList<PackageResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var started = DateTimeOffset.Now;
            var names = Requests.Select(r => r.Name).ToArray();
            var script = Manager == PackageManager.Apt
                ? PackageScripts.AptRemove(names, spec.Check, spec.Purge, spec.LockTimeout)
                : PackageScripts.ToolRemove(Manager, Tool(machine, Manager), names, spec.Check);
            var (o, status, error, _) = await RunScriptAsync(machine, transport, Manager, script, "removing " + string.Join(", ", names), spec.Timeout, spec.Sudo, null, ct).ConfigureAwait(false);
            if (o is null) return FailAll(machine, Requests, status, error!, started);
            if (o.MissingTool is { } tool) return FailAll(machine, Requests, HostStatus.Failed, ManagerMissing(machine, tool), started);
            var said = string.Join(" ", o.Output.TakeLast(6));
            return Requests.Select(request =>
            {
                string? before, after;
                if (Manager == PackageManager.Apt)
                {
                    before = o.Before.TryGetValue(request.Name, out var b) && b.Status is "installed" or "half-configured" or "unpacked" ? b.Version : null;
                    after = o.States.TryGetValue(request.Name, out var a) && a.Status is "installed" or "half-configured" or "unpacked" ? a.Version : null;
                }
                else
                {
                    before = InstalledVersion(o.InstalledBefore, request);
                    after = InstalledVersion(o.Installed, request);
                }
                if (before is null) return Result(machine, request, PackageStatus.AlreadyAbsent, started, "");
                if (spec.Check) return Result(machine, request, PackageStatus.Planned, started, before) with { Message = $"would remove {request.Name} {before}" };
                if (after is null) return Result(machine, request, PackageStatus.Removed, started, before);
                var message = $"{machine.Name}: {Lower(Manager)} could not remove {request.Name} {after} (exit {o.ExitCode}): {said}";
                return Result(machine, request, PackageStatus.Failed, started, after) with { Error = new HostError(ErrorKind.PackageInstallFailed, message), Message = message };
            }).ToArray();
        }
    }

    private sealed class SaveOperation(PackageSaveSpec spec, IReadOnlyList<PackageRequest> Requests) : PackageOperation(spec.ThrottleLimit, spec.Manager, Requests)
    {
        private PackageCache? _cache;
        private ControllerDownloads? _downloads;

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) => machines.Select(m => new HostPlan(m,
            $"Save {Lower(spec.Manager)} packages {string.Join(", ", Requests.Select(r => r.ToArgument(spec.Manager)))} and their dependencies into the cache '{spec.CachePath ?? PackageCache.DefaultRoot}'")).ToArray();

        public override void Prepare(IReadOnlyList<AgentMachine> machines)
        {
            _cache = PackageCache.Open(spec.CachePath ?? PackageCache.DefaultRoot);
            _downloads = new ControllerDownloads(_cache);
        }

        public override async Task<IReadOnlyList<PackageResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var started = DateTimeOffset.Now;
            var cache = _cache!;
            if (Manager != PackageManager.Apt)
            {
                var cached = Requests.Where(r => cache.Find(Manager, r).Count > 0).ToHashSet();
                try
                {
                    if (cached.Count < Requests.Count) await _downloads!.EnsureAsync(Manager, Requests.Except(cached).ToArray(), ct).ConfigureAwait(false);
                }
                catch (ProvisioningException ex)
                {
                    return FailAll(machine, Requests.Except(cached), HostStatus.Failed, new HostError(ex.Kind, ex.Message), started)
                        .Concat(cached.Select(r => Result(machine, r, PackageStatus.AlreadyPresent, started, cache.Find(Manager, r)[0].Version))).ToArray();
                }
                return Requests.Select(r => cache.Find(Manager, r).FirstOrDefault() is { } e
                    ? Result(machine, r, cached.Contains(r) ? PackageStatus.AlreadyPresent : PackageStatus.Saved, started, e.Version) with { Source = PackageSource.Controller, Message = e.File }
                    : WithHost(Result(machine, r, PackageStatus.Failed, started) with { Error = new HostError(ErrorKind.PackageNotFound, $"{r.Name} is not in the cache after the download.") }, HostStatus.Failed)).ToArray();
            }

            var arguments = Requests.Select(r => r.ToArgument(PackageManager.Apt)).ToArray();
            var (plan, status, error, _) = await RunScriptAsync(machine, transport, Manager, PackageScripts.AptPlan(arguments, probe: false, save: true),
                "resolving the packages", spec.Timeout, false, null, ct).ConfigureAwait(false);
            if (plan is null) return FailAll(machine, Requests, status, error!, started);
            if (plan.MissingTool is { } tool) return FailAll(machine, Requests, HostStatus.Failed, ManagerMissing(machine, tool), started);
            if (plan.Errors.Count > 0)
                return FailAll(machine, Requests, HostStatus.Failed, new HostError(ErrorKind.PackageNotFound, $"{machine.Name} ({plan.Release}): {string.Join(" ", plan.Errors)}"), started);
            var results = new List<PackageResult>();
            foreach (var uri in plan.Uris)
            {
                var listed = plan.ListedFiles.GetValueOrDefault(Path.GetFileName(Uri.UnescapeDataString(uri.Uri.AbsolutePath))) ?? plan.ListedFiles.GetValueOrDefault(uri.File);
                var request = new PackageRequest(listed?.Name ?? uri.File.Split('_')[0], listed?.Version);
                var sha = (uri.Sha256 ?? listed?.Sha256)?.ToLowerInvariant();
                try
                {
                    if (sha is null) throw new ProvisioningException(ErrorKind.PackageCacheHashMismatch, $"the host's package lists give no SHA-256 for {uri.File}, so it cannot be checked.", uri.File);
                    var present = cache.FindBySha256(sha);
                    var path = present is not null ? await cache.VerifiedPathAsync(present, ct).ConfigureAwait(false) : await cache.DownloadAsync(uri.Uri, new PackageCacheEntry
                    {
                        Manager = PackageManager.Apt,
                        Name = request.Name,
                        Version = request.Version ?? "",
                        Architecture = plan.Planned.FirstOrDefault(p => p.Name == request.Name).Architecture ?? plan.Architecture,
                        Release = plan.Release,
                        Sha256 = sha,
                        Size = uri.Size,
                        File = $"apt/{plan.Release}/{uri.File}",
                    }, ct).ConfigureAwait(false);
                    results.Add(Result(machine, request, present is null ? PackageStatus.Saved : PackageStatus.AlreadyPresent, started) with { Source = PackageSource.Controller, Message = path });
                }
                catch (ProvisioningException ex)
                {
                    results.AddRange(FailAll(machine, [request], HostStatus.Failed, new HostError(ex.Kind, $"{machine.Name} ({plan.Release}): {ex.Message}"), started));
                }
            }
            return results.Count > 0 ? results : Requests.Select(r => Result(machine, r, PackageStatus.AlreadyPresent, started) with { Message = "nothing to fetch" }).ToArray();
        }
    }

    private sealed partial class ListOperation(PackageQuerySpec spec) : HostOperation<InstalledPackage>(spec.ThrottleLimit)
    {
        private readonly Regex[] _patterns = spec.Names.Select(GlobRegex).ToArray();

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            machines.Select(m => new HostPlan(m, $"List packages {string.Join(", ", spec.Names)}")).ToArray();

        public override async Task<IReadOnlyList<InstalledPackage>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken ct)
        {
            var managers = spec.Manager is { } one ? [one] : Enum.GetValues<PackageManager>();
            var run = await transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = PackageScripts.List(managers, spec.Names, PipCommand(machine)) }, ct).ConfigureAwait(false);
            var (status, error) = HostFailure.FromExecution(machine, run, "listing its packages", null, failed =>
                new HostError(ErrorKind.CommandFailed, $"{machine.Name}: listing its packages failed with code {failed.ExitCode}.{HostFailure.LastLine(failed.Stderr)}"));
            if (error is not null) return [Failure(machine, status, error, run.StartTime)];
            var found = new List<InstalledPackage>();
            foreach (var line in run.Stdout.Split('\n'))
            {
                var parts = line.Split(' ');
                if (parts.Length < 3 || parts[0] != "L") continue;
                (string Name, string Version, string Arch, PackageManager Manager)? package = parts[1] switch
                {
                    "apt" when parts.Length >= 6 => (parts[3], parts[4], parts[5], PackageManager.Apt),
                    "pip" when parts[2].IndexOf("==", StringComparison.Ordinal) is var eq and > 0 => (parts[2][..eq], parts[2][(eq + 2)..], "", PackageManager.Pip),
                    "npm" when parts[2].LastIndexOf(':') is var c and > 0 && parts[2][(c + 1)..] is var s && s.LastIndexOf('@') is var at and > 0 =>
                        (s[..at], s[(at + 1)..], "", PackageManager.Npm),
                    _ => null,
                };
                if (package is not { } p || !_patterns.Any(r => r.IsMatch(p.Name))) continue;
                found.Add(new InstalledPackage
                {
                    Machine = machine, Name = p.Name, Version = p.Version, Architecture = p.Arch, Manager = p.Manager,
                    Status = HostStatus.Succeeded, StartTime = run.StartTime, Duration = run.Duration,
                });
            }
            return found;
        }

        public override InstalledPackage Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            new() { Machine = machine, Name = "*", Manager = spec.Manager ?? PackageManager.Apt, Status = status, Error = error, StartTime = started };

        public override JournalEntry? Journal(InstalledPackage result) => null;

        private static Regex GlobRegex(string pattern) => new("^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal)
            .Replace(@"\?", ".", StringComparison.Ordinal).Replace(@"\[", "[", StringComparison.Ordinal).Replace(@"\]", "]", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    private static string? InstalledVersion(IReadOnlyDictionary<string, string> installed, PackageRequest request) =>
        installed.TryGetValue(request.Name, out var v) || installed.TryGetValue(PackageRequest.NormalizePip(request.Name), out v) ? v : null;

    private static HostError ManagerMissing(AgentMachine machine, string tool) =>
        new(ErrorKind.PackageManagerNotFound, $"{machine.Name}: {tool} is not on the host, so its packages cannot be managed there.");

    private static UploadFile Upload(string name, string path, long size) => new()
    {
        Name = name,
        Source = new LocalSourceFile(path, name, size, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetLastWriteTimeUtc(path)),
        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
    };
}
