namespace Provisioning.Core.Transport;

/// <summary>
/// Keeps the thread pool's minimum above the number of pool threads SSH.NET blocks: its connect waits for the key
/// exchange on a pool thread, and each persistent shell's input loop holds one for the shell's life. Without it, a
/// fan-out to a hundred hosts waits on the pool's slow thread injection (about one thread per half second) and
/// connections time out. Raising the minimum only lets the pool start threads without that delay.
/// </summary>
internal static class BlockingWorkReserve
{
    private static readonly object Gate = new();
    private static int _held;

    /// <summary>Counts one more blocked pool thread until the returned handle is disposed.</summary>
    public static IDisposable Hold()
    {
        lock (Gate)
        {
            _held++;
            ThreadPool.GetMinThreads(out var workers, out var io);
            var wanted = _held + 2 * Environment.ProcessorCount + 8;
            if (workers < wanted) ThreadPool.SetMinThreads(wanted, io);
        }
        return new Release();
    }

    private sealed class Release : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            lock (Gate) _held--;
        }
    }
}
