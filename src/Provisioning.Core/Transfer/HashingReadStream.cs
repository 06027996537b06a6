using System.Security.Cryptography;

namespace Provisioning.Core.Transfer;

/// <summary>
/// A read-only pass-through that hashes what is read (SHA-256) and marks failures of the source as
/// <see cref="LocalSourceException"/>, so a writer can tell "the local file broke" from "the pipe to the
/// host broke" without buffering the file.
/// </summary>
internal sealed class HashingReadStream : Stream
{
    private readonly Stream _source;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public HashingReadStream(Stream source) => _source = source;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>SHA-256 of everything read, lowercase hex (call once, at the end).</summary>
    public string Sha256() => Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = _source.Read(buffer);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LocalSourceException(ex);
        }
        Append(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await _source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LocalSourceException(ex);
        }
        Append(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Append(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(data);
        BytesRead += data.Length;
    }

    public override bool CanRead => true;
    // Reported seekable (Length and Position work, Seek does not) so TarWriter takes the size from Length and
    // streams the data instead of buffering an unseekable stream to learn its size.
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _source.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            _source.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Reading a local source file failed (as opposed to writing to the host).</summary>
internal sealed class LocalSourceException : Exception
{
    public LocalSourceException(Exception inner) : base(inner.Message, inner) { }
}
