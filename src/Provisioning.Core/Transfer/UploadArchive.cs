using System.Formats.Tar;
using System.Text;

namespace Provisioning.Core.Transfer;

/// <summary>One file of an upload: where it goes (relative to the upload's root) and what it holds.</summary>
internal sealed class UploadFile
{
    /// <summary>Final path relative to the root, '/'-separated.</summary>
    public required string Name { get; init; }
    /// <summary>The local file.</summary>
    public required LocalSourceFile Source { get; init; }
    /// <summary>Content rendered for this host (templates); null streams the local file.</summary>
    public byte[]? Content { get; init; }
    /// <summary>Permission bits written into the tar header.</summary>
    public required UnixFileMode Mode { get; init; }
}

/// <summary>
/// Writes the tar stream <see cref="TransferScripts.Receive"/> expects: the manifest, each file under its
/// temporary name, then the end marker. The end marker is written only when every file went out whole and
/// unchanged, so anything else leaves the host with nothing moved into place.
/// </summary>
internal sealed class UploadArchive
{
    private readonly string _nonce;
    private readonly IReadOnlyList<UploadFile> _files;

    public UploadArchive(string nonce, IReadOnlyList<UploadFile> files)
    {
        _nonce = nonce;
        _files = files;
    }

    /// <summary>Why the stream was cut short on the controller's side (a local file failed or changed); null otherwise.</summary>
    public string? LocalFailure { get; private set; }

    /// <summary>True when the local failure is a file that changed while it was sent (rather than one that could not be read).</summary>
    public bool SourceChanged { get; private set; }

    /// <summary>Names of every temporary entry, relative to the root (for a sweep after a dropped connection).</summary>
    public IEnumerable<string> TemporaryNames() =>
        _files.Select((f, i) => TransferScripts.TemporaryName(f.Name, _nonce, i))
            .Prepend(TransferScripts.ManifestName(_nonce))
            .Append(TransferScripts.EndMarkerName(_nonce));

    /// <summary>
    /// Writes the stream. Failures to write to <paramref name="stdin"/> (the host went away) surface as
    /// IOException for the transport to absorb; local failures are recorded in <see cref="LocalFailure"/>.
    /// </summary>
    /// <remarks>
    /// The copy runs synchronously on a thread of its own: the pipe to ssh has no true asynchronous writes, so
    /// an async copy would hop between pool threads for every chunk and, with many hosts at once, starve the pool.
    /// A blocked write ends when the transport kills ssh (cancellation, timeout) or the host goes away.
    /// </remarks>
    public Task WriteAsync(Stream stdin, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Write(stdin, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Write(Stream stdin, CancellationToken cancellationToken)
    {
        var tar = new TarWriter(stdin, TarEntryFormat.Gnu, leaveOpen: true);
        try
        {
            var manifest = Encoding.UTF8.GetBytes(string.Concat(_files.Select(f => f.Name + "\n")));
            WriteEntry(tar, TransferScripts.ManifestName(_nonce), new MemoryStream(manifest, false), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            for (var i = 0; i < _files.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var file = _files[i];
                Stream data;
                try
                {
                    data = file.Content is { } content ? new MemoryStream(content, false) : file.Source.OpenBounded();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    LocalFailure = $"cannot read '{file.Source.FullPath}': {ex.Message}";
                    return;
                }
                using (data)
                {
                    WriteEntry(tar, TransferScripts.TemporaryName(file.Name, _nonce, i), data, file.Mode);
                }
                if (file.Content is null && file.Source.ChangedSinceResolved())
                {
                    SourceChanged = true;
                    LocalFailure = $"'{file.Source.FullPath}' changed while it was being sent";
                    return;
                }
            }
            WriteEntry(tar, TransferScripts.EndMarkerName(_nonce), null, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch (LocalSourceException ex)
        {
            LocalFailure = ex.Message;
        }
        finally
        {
            tar.Dispose();
        }
    }

    private static void WriteEntry(TarWriter tar, string name, Stream? data, UnixFileMode mode) =>
        tar.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = data, Mode = mode });
}
