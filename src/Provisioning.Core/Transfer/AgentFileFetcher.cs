using System.Diagnostics;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Transfer;

/// <summary>
/// Brings files home from every host in parallel: per host, one round trip expands the path or glob on the
/// host, lists the matching files with their SHA-256 and sends them back as one tar stream, which is written
/// under <c>Destination/&lt;host name&gt;/</c>, each file checked and renamed into place. Used by
/// Get-ExperimentResult, Receive-AgentFile and the benchmark.
/// </summary>
public sealed class AgentFileFetcher
{
    private readonly TemplateRenderer _renderer;

    /// <summary>Creates a fetcher with the given template renderer.</summary>
    public AgentFileFetcher(TemplateRenderer? renderer = null) => _renderer = renderer ?? new TemplateRenderer();

    /// <summary>The remote path and local folder of each host (for -WhatIf); no host is contacted, nothing is created.</summary>
    public IReadOnlyList<PlannedFileFetch> Plan(IReadOnlyList<AgentMachine> machines, FileFetchSpec spec)
    {
        Validate(spec);
        var folders = HostFolders(machines, Path.GetFullPath(spec.Destination));
        return machines.Select(m =>
        {
            var (folder, folderError) = folders[m];
            var (remote, renderError) = RenderPath(m, spec);
            return new PlannedFileFetch(m, remote, folder, folderError ?? renderError);
        }).ToArray();
    }

    /// <summary>
    /// The per-host operation for <paramref name="spec"/>: run it through the cmdlet lifecycle, or with
    /// <see cref="HostOperationRunner.Stream{TResult}"/> (one result at a time, journaled into a recorder or nowhere).
    /// </summary>
    public HostOperation<ExperimentResult> Operation(FileFetchSpec spec) => new FetchOperation(this, spec);


    /// <summary>The fetch's per-host work; the destination folder and each host's own folder are settled once in Prepare.</summary>
    private sealed class FetchOperation : HostOperation<ExperimentResult>
    {
        private readonly AgentFileFetcher _fetcher;
        private readonly FileFetchSpec _spec;
        private Dictionary<AgentMachine, (string? Folder, HostError? Error)>? _folders;

        public FetchOperation(AgentFileFetcher fetcher, FileFetchSpec spec)
            : base((spec ?? throw new ArgumentNullException(nameof(spec))).ThrottleLimit)
        {
            Validate(spec);
            _fetcher = fetcher;
            _spec = spec;
        }

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            _fetcher.Plan(machines, _spec).Select(plan => new HostPlan(plan.Machine, plan.Error is null
                ? $"Fetch '{plan.RemotePath}' into '{plan.LocalFolder}'"
                : $"Fetch '{plan.RemotePath ?? _spec.Path}' (refused: {plan.Error.Message})", plan.Error)).ToArray();

        public override void Prepare(IReadOnlyList<AgentMachine> machines)
        {
            var root = Path.GetFullPath(_spec.Destination);
            try
            {
                Directory.CreateDirectory(root);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ProvisioningException(TransferFailure.ClassifyLocal(ex), $"Cannot create the destination folder '{root}': {ex.Message}", root, ex);
            }
            _folders = HostFolders(machines, root);
        }

        public override Task<IReadOnlyList<ExperimentResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken cancellationToken) =>
            _fetcher.FetchFromHostAsync(machine, transport, _spec,
                (_folders ?? throw new InvalidOperationException("Prepare was not called."))[machine], cancellationToken);

        public override ExperimentResult Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            FailedResult(machine, _spec.Path, status, error, started, TimeSpan.Zero);

        public override JournalEntry Journal(ExperimentResult r) => new()
        {
            Kind = StepKinds.Fetch,
            Detail = r.LocalPath is null ? r.RemotePath : $"{r.RemotePath} -> {r.LocalPath}",
            Artifact = r.Succeeded && r.LocalPath is not null
                ? new ArtifactRecord { RunId = r.RunId ?? 0, Name = r.Machine.Name, RemotePath = r.RemotePath, LocalPath = r.LocalPath, Length = r.Length, Sha256 = r.Sha256 }
                : null,
        };
    }

    private async Task<IReadOnlyList<ExperimentResult>> FetchFromHostAsync(
        AgentMachine machine, ISshTransport transport, FileFetchSpec spec, (string? Folder, HostError? Error) hostFolder, CancellationToken ct)
    {
        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        var (remote, renderError) = RenderPath(machine, spec);
        if (hostFolder.Error is { } folderError)
            return new[] { FailedResult(machine, remote ?? spec.Path, HostStatus.Failed, folderError, started, clock.Elapsed) };
        if (remote is null)
        {
            return new[] { FailedResult(machine, spec.Path, HostFailure.StatusOf(renderError!.Kind), renderError, started, clock.Elapsed) };
        }

        var reader = new FetchStreamReader(hostFolder.Folder!, machine.Name);
        var execution = await transport.ExecuteAsync(machine, new RemoteExecutionRequest
        {
            Command = TransferScripts.Pack(remote),
            ReadOutput = reader.ReadAsync,
            Timeout = spec.Timeout,
            Sudo = spec.Sudo,
        }, ct).ConfigureAwait(false);

        var results = reader.Files.Select(f => new ExperimentResult
        {
            Machine = machine,
            RemotePath = f.RemotePath,
            LocalPath = f.LocalPath,
            Length = f.Length,
            Sha256 = f.Sha256,
            Status = f.Error is null ? HostStatus.Succeeded : HostStatus.Failed,
            Error = f.Error,
            StartTime = started,
            Duration = clock.Elapsed,
        }).ToList();

        var (hostStatus, hostError) = TransferFailure.FromExecution(machine, execution, $"fetching '{remote}'", spec.Timeout);
        var missing = reader.Missing().ToArray();
        if (hostError is null && reader.NoMatch)
        {
            hostStatus = HostStatus.Failed;
            hostError = new HostError(ErrorKind.RemotePathNotFound, $"{machine.Name}: no file matches '{remote}'.");
        }
        else if (hostError is null && !reader.HeaderSeen)
        {
            hostStatus = HostStatus.Failed;
            hostError = new HostError(TransferFailure.Classify(execution.Stderr),
                $"{machine.Name}: fetching '{remote}' failed: {reader.StreamError ?? TransferFailure.Explain(execution.Stderr, execution.ExitCode)}");
        }
        else if (hostError is null && (missing.Length > 0 || reader.StreamError is not null))
        {
            hostStatus = HostStatus.Failed;
            hostError = new HostError(TransferFailure.Classify(execution.Stderr),
                $"{machine.Name}: fetching '{remote}' stopped early: {reader.StreamError ?? TransferFailure.Explain(execution.Stderr, execution.ExitCode)}");
        }
        else if (hostError is not null && hostStatus == HostStatus.Failed && missing.Length == 0 && reader.StreamError is null && reader.HeaderSeen && !reader.NoMatch)
        {
            // tar exits non-zero for warnings too; every listed file arrived and was verified, so nothing failed.
            hostError = null;
        }

        if (hostError is not null)
        {
            if (missing.Length == 0)
            {
                results.Add(FailedResult(machine, remote, hostStatus, hostError, started, clock.Elapsed));
            }
            else
            {
                foreach (var path in missing)
                    results.Add(FailedResult(machine, path, hostStatus == HostStatus.Succeeded ? HostStatus.Failed : hostStatus, hostError, started, clock.Elapsed));
            }
        }
        return results;
    }

    /// <summary>
    /// Each host's own folder, <c>root/&lt;name&gt;</c>. A name that is not one plain path segment is
    /// PathOutsideAllowedTree; a second host with the same name (two testbeds) is DestinationConflict, so two
    /// hosts never write into one folder.
    /// </summary>
    private static Dictionary<AgentMachine, (string? Folder, HostError? Error)> HostFolders(IReadOnlyList<AgentMachine> machines, string root)
    {
        var folders = new Dictionary<AgentMachine, (string?, HostError?)>(ReferenceEqualityComparer.Instance);
        var owners = new Dictionary<string, AgentMachine>(StringComparer.OrdinalIgnoreCase);
        foreach (var machine in machines)
        {
            if (folders.ContainsKey(machine)) continue;
            var name = machine.Name;
            if (name.Length == 0 || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0', '\n']) >= 0 || Path.IsPathRooted(name))
            {
                folders[machine] = (null, new HostError(ErrorKind.PathOutsideAllowedTree,
                    $"{name}: the host name cannot be a folder under '{root}' ('..', a path separator or an absolute path would leave it)."));
                continue;
            }
            if (owners.TryGetValue(name, out var owner))
            {
                folders[machine] = (null, new HostError(ErrorKind.DestinationConflict,
                    $"{name}: another host of this fetch ({owner.Name} of testbed '{owner.Testbed?.Name}') already writes to '{Path.Combine(root, name)}'; fetch the two testbeds into different folders."));
                continue;
            }
            owners[name] = machine;
            folders[machine] = (Path.Combine(root, name), null);
        }
        return folders;
    }

    private (string? Remote, HostError? Error) RenderPath(AgentMachine machine, FileFetchSpec spec)
    {
        string rendered;
        try
        {
            rendered = _renderer.Render(spec.Path, machine, spec.Variables);
        }
        catch (ProvisioningException ex)
        {
            return (null, new HostError(ex.Kind, ex.Message));
        }
        if (string.IsNullOrWhiteSpace(rendered))
            return (null, new HostError(ErrorKind.RemotePathNotFound, $"{machine.Name}: the path '{spec.Path}' renders to an empty path."));
        if (rendered.Contains('\0') || rendered.Contains('\n'))
            return (null, new HostError(ErrorKind.PathOutsideAllowedTree, $"{machine.Name}: the path '{spec.Path}' renders to a path with a line break or NUL."));
        if (RemotePath.HasParentSegment(rendered))
        {
            return (null, new HostError(ErrorKind.PathOutsideAllowedTree,
                $"{machine.Name}: the remote path '{rendered}' has a '..' segment, so its copy would land outside the host's folder; name it without '..' (an absolute path is fine)."));
        }
        return (rendered, null);
    }

    private static ExperimentResult FailedResult(AgentMachine machine, string remote, HostStatus status, HostError error, DateTimeOffset started, TimeSpan duration) => new()
    {
        Machine = machine,
        RemotePath = remote,
        Status = status,
        Error = error,
        StartTime = started,
        Duration = duration,
    };

    private static void Validate(FileFetchSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.Path)) throw new ArgumentException("A remote path is required.", nameof(spec));
        if (string.IsNullOrWhiteSpace(spec.Destination)) throw new ArgumentException("A local destination folder is required.", nameof(spec));
    }
}
