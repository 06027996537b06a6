using System.Security.Cryptography;

namespace Provisioning.Core.Transfer;

/// <summary>
/// One file on the controller to send. Its SHA-256 is computed once, on first use, and shared by every host
/// (the content only differs per host when it is a template).
/// </summary>
internal sealed class LocalSourceFile
{
    private readonly Lazy<Task<string>> _sha256;

    public LocalSourceFile(string fullPath, string relativePath, long length, UnixFileMode mode)
    {
        FullPath = fullPath;
        RelativePath = relativePath;
        Length = length;
        Mode = mode;
        _sha256 = new Lazy<Task<string>>(() => Task.Run(() => HashFileAsync(fullPath)));
    }

    /// <summary>Absolute path on the controller.</summary>
    public string FullPath { get; }
    /// <summary>Path under the destination, '/'-separated (the file name for a single file).</summary>
    public string RelativePath { get; }
    /// <summary>Size when the source was resolved.</summary>
    public long Length { get; }
    /// <summary>Permission bits of the local file.</summary>
    public UnixFileMode Mode { get; }

    /// <summary>SHA-256 of the file as lowercase hex (computed once).</summary>
    public Task<string> Sha256Async() => _sha256.Value;

    /// <summary>Opens the file for a sequential read (one per host, served from the page cache).</summary>
    public FileStream Open() =>
        new(FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);

    private async Task<string> HashFileAsync(string path)
    {
        await using var stream = Open();
        var hash = await SHA256.HashDataAsync(stream).ConfigureAwait(false);
        return Convert.ToHexString(hash).ToLowerInvariant();
    }
}
