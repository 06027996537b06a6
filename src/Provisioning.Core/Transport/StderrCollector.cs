using System.Text;

namespace Provisioning.Core.Transport;

/// <summary>
/// Collects ssh's stderr and picks the remote pid marker out of it as soon as it arrives, so a kill can be
/// aimed at the remote process group while the command still runs.
/// </summary>
internal sealed class StderrCollector
{
    private const int HeadScanLimit = 64 * 1024;
    private readonly CappedBuffer _buffer;
    private readonly StringBuilder _head = new();
    private volatile int _remotePid;
    private bool _scanning = true;

    public StderrCollector(int limit) => _buffer = new CappedBuffer(limit);

    /// <summary>The remote shell's pid, or 0 before (or without) the marker.</summary>
    public int RemotePid => _remotePid;

    /// <summary>True once the remote shell started (the marker was seen).</summary>
    public bool RemoteStarted => _remotePid != 0;

    public bool Truncated => _buffer.Truncated;

    public async Task DrainAsync(Stream source)
    {
        var chunk = new byte[8 * 1024];
        int n;
        var tee = new MemoryStream();
        while ((n = await source.ReadAsync(chunk).ConfigureAwait(false)) > 0)
        {
            if (_scanning)
            {
                _head.Append(Encoding.UTF8.GetString(chunk, 0, n));
                Scan();
            }
            tee.SetLength(0);
            tee.Write(chunk, 0, n);
            tee.Position = 0;
            await _buffer.DrainAsync(tee).ConfigureAwait(false);
        }
    }

    private void Scan()
    {
        var text = _head.ToString();
        var at = text.IndexOf(RemoteScript.PidMarker, StringComparison.Ordinal);
        if (at >= 0)
        {
            var end = text.IndexOf('\n', at);
            if (end < 0) return;
            var digits = text.AsSpan(at + RemoteScript.PidMarker.Length, end - at - RemoteScript.PidMarker.Length).Trim();
            if (int.TryParse(digits, out var pid)) _remotePid = pid;
            _scanning = false;
        }
        else if (_head.Length > HeadScanLimit)
        {
            _scanning = false;
        }
    }

    /// <summary>stderr without the marker line.</summary>
    public string Text()
    {
        var text = _buffer.Text();
        var at = text.IndexOf(RemoteScript.PidMarker, StringComparison.Ordinal);
        if (at < 0) return text;
        var end = text.IndexOf('\n', at);
        return end < 0 ? text[..at] : text.Remove(at, end - at + 1);
    }
}
