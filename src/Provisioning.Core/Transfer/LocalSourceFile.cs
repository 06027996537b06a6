using System.Security.Cryptography;
using System.Text;

namespace Provisioning.Core.Transfer;

/// <summary>
/// One file on the controller to send. Its SHA-256 (and, for templates, its text) is read once, on first use,
/// and shared by every host.
/// </summary>
internal sealed class LocalSourceFile
{
    private readonly Lazy<Task<string>> _sha256;
    private readonly Lazy<Task<string>> _text;

    public LocalSourceFile(string fullPath, string relativePath, long length, UnixFileMode mode, DateTime lastWriteTimeUtc)
    {
        FullPath = fullPath;
        RelativePath = relativePath;
        Length = length;
        Mode = mode;
        LastWriteTimeUtc = lastWriteTimeUtc;
        _sha256 = new Lazy<Task<string>>(() => Task.Run(() => HashFileAsync(fullPath)));
        _text = new Lazy<Task<string>>(() => Task.Run(() => File.ReadAllTextAsync(fullPath, Encoding.UTF8)));
    }

    /// <summary>Absolute path on the controller.</summary>
    public string FullPath { get; }
    /// <summary>Path under the destination, '/'-separated (the file name for a single file).</summary>
    public string RelativePath { get; }
    /// <summary>Size when the source was resolved; exactly this many bytes are sent.</summary>
    public long Length { get; }
    /// <summary>Permission bits of the local file.</summary>
    public UnixFileMode Mode { get; }
    /// <summary>Modification time when the source was resolved.</summary>
    public DateTime LastWriteTimeUtc { get; }

    /// <summary>SHA-256 of the file as lowercase hex (computed once, streaming).</summary>
    public Task<string> Sha256Async() => _sha256.Value;

    /// <summary>The file as UTF-8 text (read once), for template rendering.</summary>
    public Task<string> TextAsync() => _text.Value;

    /// <summary>
    /// True when the file's size or modification time differ from when it was resolved, so what was hashed
    /// may not be what was sent. Checked after each host's copy instead of hashing every copy again.
    /// </summary>
    public bool ChangedSinceResolved()
    {
        var info = new FileInfo(FullPath);
        return !info.Exists || info.Length != Length || info.LastWriteTimeUtc != LastWriteTimeUtc;
    }

    /// <summary>Opens the file for one sequential read of <see cref="Length"/> bytes (served from the page cache).</summary>
    public Stream OpenBounded() => new SourceReadStream(Open(), Length);

    private FileStream Open() =>
        new(FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);

    private async Task<string> HashFileAsync(string path)
    {
        await using var stream = Open();
        var hash = await SHA256.HashDataAsync(stream).ConfigureAwait(false);
        return Convert.ToHexString(hash).ToLowerInvariant();
    }
}
