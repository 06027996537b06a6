using System.Text;

namespace Provisioning.Core.Transport;

/// <summary>Collects a stream's bytes up to a limit, remembering whether anything was dropped.</summary>
internal sealed class CappedBuffer
{
    private readonly int _limit;
    private readonly MemoryStream _bytes = new();

    public CappedBuffer(int limit) => _limit = limit;

    public bool Truncated { get; private set; }

    /// <summary>Reads <paramref name="source"/> to its end (the rest past the limit is read and dropped).</summary>
    public async Task DrainAsync(Stream source)
    {
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await source.ReadAsync(chunk).ConfigureAwait(false)) > 0)
        {
            var room = _limit - (int)_bytes.Length;
            if (room >= n) _bytes.Write(chunk, 0, n);
            else
            {
                if (room > 0) _bytes.Write(chunk, 0, room);
                Truncated = true;
            }
        }
    }

    public string Text() => Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);
}
