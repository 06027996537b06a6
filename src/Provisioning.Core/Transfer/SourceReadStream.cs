namespace Provisioning.Core.Transfer;

/// <summary>
/// Reads exactly <c>length</c> bytes of a local file for a tar entry whose header already announced that size,
/// and marks failures of the local file as <see cref="LocalSourceException"/> so the writer can tell "the local
/// file broke" from "the pipe to the host broke". A file that shrank is a failure; one that grew is cut (the
/// caller's modification check catches both).
/// </summary>
internal sealed class SourceReadStream : Stream
{
    private const int CopyBufferSize = 256 * 1024;
    private readonly Stream _source;
    private readonly long _length;
    private long _position;

    public SourceReadStream(Stream source, long length)
    {
        _source = source;
        _length = length;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var want = (int)Math.Min(buffer.Length, _length - _position);
        if (want == 0) return 0;
        int n;
        try
        {
            n = _source.Read(buffer[..want]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LocalSourceException(ex.Message, ex);
        }
        return Advance(n);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var want = (int)Math.Min(buffer.Length, _length - _position);
        if (want == 0) return 0;
        int n;
        try
        {
            n = await _source.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LocalSourceException(ex.Message, ex);
        }
        return Advance(n);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // TarWriter copies entry data with CopyTo: larger chunks mean fewer reads and pipe writes per file.
    public override void CopyTo(Stream destination, int bufferSize)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            int n;
            while ((n = Read(buffer, 0, buffer.Length)) > 0) destination.Write(buffer, 0, n);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private int Advance(int n)
    {
        if (n == 0) throw new LocalSourceException($"the file became shorter while it was sent ({_position} of {_length} bytes).", null);
        _position += n;
        return n;
    }

    public override bool CanRead => true;
    // Seekable in the eyes of TarWriter (Length and Position work, Seek does not): it takes the entry size from
    // Length - Position and streams the data, instead of buffering an unseekable stream to learn its size.
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _source.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Reading a local source file failed (as opposed to writing to the host).</summary>
internal sealed class LocalSourceException : Exception
{
    public LocalSourceException(string message, Exception? inner) : base(message, inner) { }
}
