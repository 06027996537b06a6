using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Transfer;

/// <summary>
/// Sends local files to every host in parallel, idempotently and atomically. Per host: one round trip hashes
/// every destination file (<c>sha256sum</c>), then, only when something differs, one tar stream carries the
/// changed files over the host's multiplexed connection; the host extracts each beside its destination and
/// renames it into place once the whole stream has arrived. Used by Send-AgentFile and the benchmark.
/// </summary>
public sealed class AgentFileSender
{
    private static readonly TimeSpan SweepTimeout = TimeSpan.FromSeconds(10);
    private readonly TemplateRenderer _renderer;

    /// <summary>Creates a sender with the given template renderer.</summary>
    public AgentFileSender(TemplateRenderer? renderer = null) => _renderer = renderer ?? new TemplateRenderer();

    /// <summary>
    /// What a send would write on each host (for -WhatIf): the local files are resolved and the destination
    /// rendered, no host is contacted. Throws <see cref="ErrorKind.LocalPathNotFound"/> like <see cref="Operation"/>.
    /// </summary>
    public IReadOnlyList<PlannedFileSend> Plan(IReadOnlyList<AgentMachine> machines, FileSendSpec spec)
    {
        Validate(spec);
        var sources = LocalSourceSet.Resolve(spec.Path);
        var plans = new List<PlannedFileSend>();
        foreach (var machine in machines)
        {
            var (destination, error) = RenderDestination(machine, spec);
            if (destination is null)
            {
                plans.Add(new PlannedFileSend(machine, spec.Path, null, error));
                continue;
            }
            foreach (var file in sources.Files)
            {
                var shown = sources.IsSingleFile
                    ? destination.EndsWith('/') ? RemotePath.Join(destination, file.RelativePath) : destination
                    : RemotePath.Join(destination, file.RelativePath);
                plans.Add(new PlannedFileSend(machine, file.FullPath, shown, null));
            }
        }
        return plans;
    }

    /// <summary>
    /// The per-host operation for <paramref name="spec"/>: run it through the cmdlet lifecycle, or with
    /// <see cref="HostOperationRunner.Stream{TResult}"/> (one result at a time, journaled into a recorder or nowhere).
    /// </summary>
    public HostOperation<FileSendResult> Operation(FileSendSpec spec) => new SendOperation(this, spec);


    /// <summary>Send-AgentFile's per-host work: the shared parts (the local files, their hashes) are resolved once in Prepare.</summary>
    private sealed class SendOperation : HostOperation<FileSendResult>
    {
        private readonly AgentFileSender _sender;
        private readonly FileSendSpec _spec;
        private LocalSourceSet? _sources;

        public SendOperation(AgentFileSender sender, FileSendSpec spec)
            : base((spec ?? throw new ArgumentNullException(nameof(spec))).ThrottleLimit)
        {
            Validate(spec);
            _sender = sender;
            _spec = spec;
        }

        public override IReadOnlyList<HostPlan> Plan(IReadOnlyList<AgentMachine> machines) =>
            _sender.Plan(machines, _spec).GroupBy(p => p.Machine).Select(group =>
            {
                var list = group.ToList();
                var action = list[0].Destination is null
                    ? $"Send '{_spec.Path}' (cannot render the destination: {list[0].Error?.Message})"
                    : list.Count == 1
                        ? $"Send '{list[0].Source}' to '{list[0].Destination}'"
                        : $"Send {list.Count} files from '{_spec.Path}' to '{_spec.Destination}':{Environment.NewLine}  " +
                          string.Join(Environment.NewLine + "  ", list.Select(p => p.Destination));
                return new HostPlan(group.Key, action, list[0].Error);
            }).ToArray();

        public override void Prepare(IReadOnlyList<AgentMachine> machines)
        {
            _sources = LocalSourceSet.Resolve(_spec.Path);
            // Hash while the first connections open; every host shares the result.
            if (!_spec.Template)
                foreach (var file in _sources.Files) _ = file.Sha256Async();
        }

        public override Task<IReadOnlyList<FileSendResult>> RunAsync(AgentMachine machine, ISshTransport transport, CancellationToken cancellationToken) =>
            _sender.SendToHostAsync(machine, transport, _spec, _sources ?? throw new InvalidOperationException("Prepare was not called."), cancellationToken);

        public override FileSendResult Failure(AgentMachine machine, HostStatus status, HostError error, DateTimeOffset started) =>
            FileFailure(machine, _spec.Path, _spec.Destination, status, error, started, TimeSpan.Zero);

        public override JournalEntry Journal(FileSendResult r) => new()
        {
            Kind = StepKinds.Send,
            Detail = $"{r.Source} -> {r.Destination}{(r.Succeeded ? r.Changed ? " (changed)" : " (unchanged)" : "")}",
        };
    }

    private async Task<IReadOnlyList<FileSendResult>> SendToHostAsync(
        AgentMachine machine, ISshTransport transport, FileSendSpec spec, LocalSourceSet sources, CancellationToken ct)
    {
        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        var (destination, renderError) = RenderDestination(machine, spec);
        if (destination is null)
        {
            return new[] { FileFailure(machine, spec.Path, spec.Destination, HostFailure.StatusOf(renderError!.Kind), renderError, started, clock.Elapsed) };
        }

        // Content and hash of every file for this host (templates render per host; plain files share one hash).
        var items = new List<HostItem>(sources.Files.Count);
        var results = new List<FileSendResult>();
        foreach (var file in sources.Files)
        {
            try
            {
                if (spec.Template)
                {
                    var text = _renderer.Render(await file.TextAsync().ConfigureAwait(false), machine, spec.Variables);
                    var bytes = Encoding.UTF8.GetBytes(text);
                    items.Add(new HostItem(file, bytes, Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), bytes.Length));
                }
                else
                {
                    items.Add(new HostItem(file, null, await file.Sha256Async().ConfigureAwait(false), file.Length));
                }
            }
            catch (ProvisioningException ex)
            {
                results.Add(FileFailure(machine, file.FullPath, RemotePath.Join(destination, file.RelativePath),
                    HostStatus.TemplateError, new HostError(ex.Kind, ex.Message), started, clock.Elapsed));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                var kind = ex is FileNotFoundException or DirectoryNotFoundException ? ErrorKind.LocalPathNotFound : TransferFailure.ClassifyLocal(ex);
                results.Add(FileFailure(machine, file.FullPath, RemotePath.Join(destination, file.RelativePath),
                    HostStatus.Failed, new HostError(kind, $"{machine.Name}: cannot read '{file.FullPath}': {ex.Message}"), started, clock.Elapsed));
            }
        }
        if (items.Count == 0) return results;

        // Round trip 1: what is at the destination, and the hash and mode of every file it would hold.
        var names = sources.IsSingleFile ? new[] { sources.Files[0].RelativePath } : items.Select(i => i.Source.RelativePath).ToArray();
        var probeRun = await transport.ExecuteAsync(machine, new RemoteExecutionRequest
        {
            Command = TransferScripts.Probe(destination),
            WriteInput = (stdin, token) => stdin.WriteAsync(Encoding.UTF8.GetBytes(string.Concat(names.Select(n => n + "\0"))), token).AsTask(),
            Timeout = spec.Timeout,
            Sudo = spec.Sudo,
        }, ct).ConfigureAwait(false);
        var (probeStatus, probeError) = TransferFailure.FromExecution(machine, probeRun, $"checking '{destination}'", spec.Timeout);
        var probe = probeError is null ? RemoteProbe.Parse(probeRun.Stdout) : null;
        if (probe is null)
        {
            probeError ??= new HostError(ErrorKind.TransferFailed,
                $"{machine.Name}: checking '{destination}' gave an unexpected answer: {TransferFailure.Explain(probeRun.Stderr + probeRun.Stdout, probeRun.ExitCode)}");
            foreach (var item in items)
                results.Add(FileFailure(machine, item.Source.FullPath, RemotePath.Join(destination, item.Source.RelativePath),
                    probeStatus == HostStatus.Succeeded ? HostStatus.Failed : probeStatus, probeError, started, clock.Elapsed));
            return results;
        }

        // Where each file goes: a single file may name its destination or a folder to go into.
        string root;
        Func<HostItem, string> nameOf;
        Func<HostItem, (string? Sha256, int? Mode)> remoteOf;
        if (sources.IsSingleFile && !probe.IsDirectory && !destination.EndsWith('/'))
        {
            var (directory, fileName) = RemotePath.Split(destination);
            root = directory;
            nameOf = _ => fileName;
            remoteOf = _ => probe.Single();
        }
        else if (probe.IsFile)
        {
            var error = new HostError(ErrorKind.TransferFailed,
                $"{machine.Name}: '{destination}' exists and is not a directory, so {(sources.IsSingleFile ? "the file" : "the files")} cannot go into it.");
            foreach (var item in items)
                results.Add(FileFailure(machine, item.Source.FullPath, RemotePath.Join(destination, item.Source.RelativePath), HostStatus.Failed, error, started, clock.Elapsed));
            return results;
        }
        else
        {
            root = destination;
            nameOf = item => item.Source.RelativePath;
            remoteOf = item => (probe.Hashes.GetValueOrDefault(item.Source.RelativePath),
                probe.Modes.TryGetValue(item.Source.RelativePath, out var mode) ? mode : null);
        }

        var wantedMode = spec.Mode is { } m ? (int)m & 0xFFF : (int?)null;
        var changed = new List<(HostItem Item, UploadFile Upload)>();
        var unchanged = new List<HostItem>();
        foreach (var item in items)
        {
            var (remoteSha, remoteMode) = remoteOf(item);
            if (remoteSha == item.Sha256 && (wantedMode is null || remoteMode == wantedMode)) unchanged.Add(item);
            else changed.Add((item, new UploadFile
            {
                Name = nameOf(item),
                Source = item.Source,
                Content = item.Content,
                Mode = spec.Mode ?? item.Source.Mode,
            }));
        }
        foreach (var item in unchanged)
            results.Add(Success(machine, item, RemotePath.Join(root, nameOf(item)), changed: false, started, clock.Elapsed));
        if (changed.Count == 0) return results;

        // Round trip 2: one tar stream of the changed files, renamed into place only once complete.
        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        var archive = new UploadArchive(nonce, changed.Select(c => c.Upload).ToArray());
        var upload = await transport.ExecuteAsync(machine, new RemoteExecutionRequest
        {
            Command = TransferScripts.Receive(root, nonce, exactMode: spec.Mode is not null),
            WriteInput = archive.WriteAsync,
            Timeout = spec.Timeout,
            Sudo = spec.Sudo,
        }, ct).ConfigureAwait(false);
        if (upload.Outcome == ExecutionOutcome.ConnectionLost) await SweepAsync(transport, machine, root, archive, spec.Sudo).ConfigureAwait(false);

        var moved = upload.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("M ", StringComparison.Ordinal))
            .Select(l => int.TryParse(l.AsSpan(2), out var i) ? i : -1)
            .ToHashSet();
        var (uploadStatus, uploadError) = TransferFailure.FromExecution(machine, upload, $"writing into '{root}'", spec.Timeout);
        if (archive.LocalFailure is { } localFailure)
        {
            (uploadStatus, uploadError) = (HostStatus.Failed, new HostError(archive.SourceChanged ? ErrorKind.ChecksumMismatch : ErrorKind.LocalPathNotFound,
                $"{machine.Name}: {localFailure}; nothing was moved into place."));
        }
        for (var i = 0; i < changed.Count; i++)
        {
            var (item, file) = changed[i];
            var path = RemotePath.Join(root, file.Name);
            if (moved.Contains(i) && archive.LocalFailure is null)
            {
                results.Add(Success(machine, item, path, changed: true, started, clock.Elapsed));
                continue;
            }
            var error = uploadError ?? new HostError(ErrorKind.TransferFailed,
                $"{machine.Name}: '{path}' was not moved into place: {TransferFailure.Explain(upload.Stderr, upload.ExitCode)}");
            results.Add(FileFailure(machine, item.Source.FullPath, path, uploadStatus == HostStatus.Succeeded ? HostStatus.Failed : uploadStatus,
                error, started, clock.Elapsed) with { Length = item.Length, Sha256 = item.Sha256 });
        }
        return results;
    }

    /// <summary>
    /// After a dropped connection the host's cleanup trap may never have run (the machine died, or sshd was
    /// killed): remove the temporary files by name, best effort, if the host answers again within a few seconds.
    /// </summary>
    private static async Task SweepAsync(ISshTransport transport, AgentMachine machine, string root, UploadArchive archive, bool sudo)
    {
        try
        {
            using var bounded = new CancellationTokenSource(SweepTimeout);
            var names = Encoding.UTF8.GetBytes(string.Concat(archive.TemporaryNames().Select(n => n + "\0")));
            await transport.ExecuteAsync(machine, new RemoteExecutionRequest
            {
                Command = TransferScripts.Sweep(root),
                WriteInput = (stdin, token) => stdin.WriteAsync(names, token).AsTask(),
                Timeout = SweepTimeout,
                Sudo = sudo,
            }, bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ProvisioningException or IOException or OperationCanceledException or InvalidOperationException)
        {
            // The host is still gone; its temporary files carry the .prov- prefix and the nonce.
        }
    }

    private (string? Destination, HostError? Error) RenderDestination(AgentMachine machine, FileSendSpec spec)
    {
        string rendered;
        try
        {
            rendered = _renderer.Render(spec.Destination, machine, spec.Variables);
        }
        catch (ProvisioningException ex)
        {
            return (null, new HostError(ex.Kind, ex.Message));
        }
        if (rendered.Length == 0)
            return (null, new HostError(ErrorKind.TransferFailed, $"{machine.Name}: the destination '{spec.Destination}' renders to an empty path."));
        if (rendered.Contains('\0') || rendered.Contains('\n'))
            return (null, new HostError(ErrorKind.PathOutsideAllowedTree, $"{machine.Name}: the destination '{spec.Destination}' renders to a path with a line break or NUL."));
        if (RemotePath.RenderingAddsParentSegment(spec.Destination, rendered))
        {
            return (null, new HostError(ErrorKind.PathOutsideAllowedTree,
                $"{machine.Name}: the destination '{spec.Destination}' renders to '{rendered}', whose '..' (from a variable) would leave the folder the template names."));
        }
        return (rendered, null);
    }

    private static FileSendResult Success(AgentMachine machine, HostItem item, string destination, bool changed, DateTimeOffset started, TimeSpan duration) => new()
    {
        Machine = machine,
        Source = item.Source.FullPath,
        Destination = destination,
        Length = item.Length,
        Sha256 = item.Sha256,
        Changed = changed,
        Status = HostStatus.Succeeded,
        StartTime = started,
        Duration = duration,
    };

    private static FileSendResult FileFailure(AgentMachine machine, string source, string destination, HostStatus status, HostError error, DateTimeOffset started, TimeSpan duration) => new()
    {
        Machine = machine,
        Source = source,
        Destination = destination,
        Status = status,
        Error = error,
        StartTime = started,
        Duration = duration,
    };

    private static void Validate(FileSendSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrEmpty(spec.Destination)) throw new ArgumentException("A destination is required.", nameof(spec));
    }

    /// <summary>One file as it is for one host: its content (when rendered), hash and size.</summary>
    private sealed record HostItem(LocalSourceFile Source, byte[]? Content, string Sha256, long Length);
}
