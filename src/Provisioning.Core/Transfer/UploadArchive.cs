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
    public async Task WriteAsync(Stream stdin, CancellationToken cancellationToken)
    {
        var tar = new TarWriter(stdin, TarEntryFormat.Gnu, leaveOpen: true);
        try
        {
            var manifest = Encoding.UTF8.GetBytes(string.Concat(_files.Select(f => f.Name + "\n")));
            await WriteEntryAsync(tar, TransferScripts.ManifestName(_nonce), new MemoryStream(manifest, false),
                UnixFileMode.UserRead | UnixFileMode.UserWrite, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < _files.Count; i++)
            {
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
                await using (data.ConfigureAwait(false))
                {
                    await WriteEntryAsync(tar, TransferScripts.TemporaryName(file.Name, _nonce, i), data, file.Mode, cancellationToken)
                        .ConfigureAwait(false);
                }
                if (file.Content is null && file.Source.ChangedSinceResolved())
                {
                    SourceChanged = true;
                    LocalFailure = $"'{file.Source.FullPath}' changed while it was being sent";
                    return;
                }
            }
            await WriteEntryAsync(tar, TransferScripts.EndMarkerName(_nonce), null, UnixFileMode.UserRead | UnixFileMode.UserWrite, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (LocalSourceException ex)
        {
            LocalFailure = ex.Message;
        }
        finally
        {
            await tar.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static Task WriteEntryAsync(TarWriter tar, string name, Stream? data, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var entry = new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = data, Mode = mode };
        return tar.WriteEntryAsync(entry, cancellationToken);
    }
}
