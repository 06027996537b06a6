using System.Buffers;
using System.Formats.Tar;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Transfer;

/// <summary>One file a fetch brought home (or failed to), before it becomes a result.</summary>
/// <param name="RemotePath">The path as the host named it.</param>
/// <param name="LocalPath">Where it is now; null when it was not written.</param>
/// <param name="Length">Bytes received.</param>
/// <param name="Sha256">SHA-256 of what was received (verified against the host's when <paramref name="Error"/> is null).</param>
/// <param name="Error">Why it failed.</param>
internal sealed record FetchedFile(string RemotePath, string? LocalPath, long Length, string Sha256, HostError? Error);

/// <summary>
/// Consumes the stream <see cref="TransferScripts.Pack"/> writes: the header line, the host's
/// <c>sha256sum -z</c> manifest, then one tar stream. Each entry is written to a temporary file beside its
/// final path under the host's folder while it is hashed, checked against the manifest and renamed into place;
/// anything else (a failed check, a broken stream, a cancelled run) leaves no partial file behind. Entries are
/// accepted only when they are regular files named in the manifest whose path stays inside the host's folder,
/// so a misbehaving host cannot write anywhere else.
/// </summary>
internal sealed class FetchStreamReader
{
    private const int MaxHeaderBytes = 128;
    private const int MaxManifestBytes = 256 * 1024 * 1024;
    private readonly string _hostFolder;
    private readonly string _machineName;
    private readonly string _nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
    private readonly List<FetchedFile> _files = new();
    private readonly Dictionary<string, (string RemotePath, string Sha256)> _manifest = new(StringComparer.Ordinal);
    private readonly HashSet<string> _received = new(StringComparer.Ordinal);
    private int _temporaryCounter;

    /// <param name="hostFolder">Full path of the host's own folder (created on first file).</param>
    /// <param name="machineName">For messages.</param>
    public FetchStreamReader(string hostFolder, string machineName)
    {
        _hostFolder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(hostFolder));
        _machineName = machineName;
    }

    /// <summary>True when the header said the pattern matched no file.</summary>
    public bool NoMatch { get; private set; }
    /// <summary>True once a valid header arrived.</summary>
    public bool HeaderSeen { get; private set; }
    /// <summary>Why the stream could not be read to its end (it broke or was malformed); null otherwise.</summary>
    public string? StreamError { get; private set; }
    /// <summary>Files in the order they arrived, then manifest files that never arrived.</summary>
    public IReadOnlyList<FetchedFile> Files => _files;

    /// <summary>Manifest files that did not arrive (call after the stream ended).</summary>
    public IEnumerable<string> Missing() =>
        _manifest.Where(kv => !_received.Contains(kv.Key)).Select(kv => kv.Value.RemotePath);

    /// <summary>Reads the whole stream. Throws only <see cref="OperationCanceledException"/>.</summary>
    /// <remarks>
    /// Runs synchronously on a thread of its own: the pipe from ssh has no true asynchronous reads, so an async
    /// loop would hop between pool threads for every entry and chunk and, with many hosts at once, starve the
    /// pool. A blocked read ends when the transport kills ssh (cancellation, timeout) or the host goes away.
    /// </remarks>
    public Task ReadAsync(Stream stdout, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Read(stdout, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Read(Stream stdout, CancellationToken cancellationToken)
    {
        var input = new BufferedStream(stdout, 64 * 1024);
        try
        {
            ReadCore(input, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or FormatException or ArgumentException)
        {
            StreamError = ex.Message;
        }
        // Read to the end whatever happened, so the host's writer never blocks on a full pipe.
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            input.CopyTo(Stream.Null);
        }
        catch (IOException ex)
        {
            StreamError ??= ex.Message;
        }
    }

    private void ReadCore(Stream input, CancellationToken cancellationToken)
    {
        var header = ReadLine(input);
        if (header is null) return;
        if (header == TransferScripts.NoMatchHeader)
        {
            HeaderSeen = true;
            NoMatch = true;
            return;
        }
        var parts = header.Split(' ');
        if (parts.Length != 2 || parts[0] != TransferScripts.FetchHeader
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var manifestLength) || manifestLength > MaxManifestBytes)
        {
            throw new InvalidDataException($"the host's answer does not start with a fetch header ('{header}').");
        }
        HeaderSeen = true;
        var manifest = new byte[manifestLength];
        input.ReadExactly(manifest);
        ParseManifest(Encoding.UTF8.GetString(manifest));

        using var tar = new TarReader(input, leaveOpen: true);
        while (tar.GetNextEntry(copyData: false) is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReceiveEntry(entry, cancellationToken);
        }
    }

    private void ParseManifest(string text)
    {
        foreach (var record in text.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            if (record.Length < 67 || record[64] != ' ') throw new InvalidDataException("the host's checksum list is malformed.");
            var remote = record[66..];
            var key = RemotePath.MakeRelative(remote);
            if (key is null)
            {
                _files.Add(new FetchedFile(remote, null, 0, "", new HostError(ErrorKind.PathOutsideAllowedTree,
                    $"{_machineName}: '{remote}' cannot be stored under the host's folder (it has '..' or no name).")));
                continue;
            }
            _manifest[key] = (remote, record[..64].ToLowerInvariant());
        }
    }

    private void ReceiveEntry(TarEntry entry, CancellationToken cancellationToken)
    {
        var key = RemotePath.MakeRelative(entry.Name);
        if (key is null || !_manifest.TryGetValue(key, out var listed))
        {
            _files.Add(new FetchedFile(entry.Name, null, 0, "", new HostError(key is null ? ErrorKind.PathOutsideAllowedTree : ErrorKind.TransferFailed,
                $"{_machineName}: the host sent '{entry.Name}', which {(key is null ? "would land outside the host's folder" : "its checksum list does not name")}; it was skipped.")));
            return;
        }
        if (!_received.Add(key)) return;
        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile))
        {
            _files.Add(new FetchedFile(listed.RemotePath, null, 0, "", new HostError(ErrorKind.TransferFailed,
                $"{_machineName}: '{listed.RemotePath}' arrived as a {entry.EntryType}, not a regular file; it was skipped.")));
            return;
        }

        var local = LocalPathOf(key);
        if (local is null)
        {
            _files.Add(new FetchedFile(listed.RemotePath, null, 0, "", new HostError(ErrorKind.PathOutsideAllowedTree,
                $"{_machineName}: '{listed.RemotePath}' would be stored outside '{_hostFolder}'; it was skipped.")));
            return;
        }

        string? temporary = null;
        FileStream? sink = null;
        HostError? localError = null;
        try
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                temporary = Path.Combine(Path.GetDirectoryName(local)!, $".prov-{_nonce}-{_temporaryCounter++}.part");
                sink = new FileStream(temporary, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    Share = FileShare.None,
                    BufferSize = 0,
                    PreallocationSize = entry.Length,
                });
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                localError = LocalError(ex, local);
            }

            // Hash what arrives while writing it; after a local failure keep reading so the stream stays in step.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                if (entry.DataStream is { } data)
                {
                    int n;
                    while ((n = data.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        hash.AppendData(buffer, 0, n);
                        length += n;
                        if (sink is null) continue;
                        try
                        {
                            sink.Write(buffer, 0, n);
                        }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                        {
                            localError = LocalError(ex, local);
                            sink.Dispose();
                            sink = null;
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            if (length != entry.Length)
            {
                // The stream ended inside this file (the connection dropped): it did not arrive at all.
                _received.Remove(key);
                throw new EndOfStreamException($"the stream ended after {length} of {entry.Length} bytes of '{listed.RemotePath}'.");
            }
            var sha = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();

            if (sink is not null)
            {
                try
                {
                    sink.Dispose();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    localError ??= LocalError(ex, local);
                }
                sink = null;
            }
            if (localError is not null)
            {
                _files.Add(new FetchedFile(listed.RemotePath, null, length, sha, localError));
                return;
            }
            if (sha != listed.Sha256)
            {
                _files.Add(new FetchedFile(listed.RemotePath, null, length, sha, new HostError(ErrorKind.ChecksumMismatch,
                    $"{_machineName}: '{listed.RemotePath}' arrived with SHA-256 {sha}, but the host computed {listed.Sha256} (it changed while being fetched?); it was not kept.")));
                return;
            }
            try
            {
                File.Move(temporary!, local, overwrite: true);
                temporary = null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _files.Add(new FetchedFile(listed.RemotePath, null, length, sha, LocalError(ex, local)));
                return;
            }
            _files.Add(new FetchedFile(listed.RemotePath, local, length, sha, null));
        }
        finally
        {
            sink?.Dispose();
            if (temporary is not null) TryDelete(temporary);
        }
    }

    /// <summary>The local path of a relative key, or null when it would not stay inside the host's folder.</summary>
    private string? LocalPathOf(string key)
    {
        var segments = key.Split('/');
        if (segments.Any(s => s is "" or "." or ".." || s.Contains('\\') || s.Contains('\0'))) return null;
        var full = Path.GetFullPath(Path.Combine(_hostFolder, Path.Combine(segments)));
        return full.StartsWith(_hostFolder + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? full : null;
    }

    private HostError LocalError(Exception ex, string local) =>
        new(TransferFailure.ClassifyLocal(ex), $"{_machineName}: cannot write '{local}': {ex.Message}");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string? ReadLine(Stream input)
    {
        var bytes = new List<byte>(32);
        var one = new byte[1];
        while (bytes.Count <= MaxHeaderBytes)
        {
            if (input.Read(one, 0, 1) == 0) return bytes.Count == 0 ? null : throw new EndOfStreamException("the host's answer ended inside its header.");
            if (one[0] == (byte)'\n') return Encoding.UTF8.GetString(bytes.ToArray());
            bytes.Add(one[0]);
        }
        throw new InvalidDataException("the host's answer does not start with a fetch header.");
    }
}
