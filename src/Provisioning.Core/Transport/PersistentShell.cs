using System.Security.Cryptography;
using System.Text;
using Renci.SshNet;

namespace Provisioning.Core.Transport;

/// <summary>
/// One POSIX <c>sh</c> on a host, kept open on an SSH.NET session channel, that runs framed commands one at a time:
/// the remote sshd starts a shell once per channel instead of once per command (the per-command cost left after
/// the connection itself, as Mitogen removes it for Ansible).
/// <para>
/// Protocol, all lines tagged with a random token <c>T</c> of this shell: the controller writes <c>T C</c>, the
/// command's lines and <c>T E</c>; the shell runs the command in a subshell (stdin /dev/null, stdout and stderr on
/// the channel) and then writes <c>\nT X code\n</c> on both streams, so each stream's end is known without a length.
/// While a command runs, a forked watcher reads the channel: a <c>T K</c> line (Ctrl+C, timeout) or EOF (the
/// controller or its connection died) makes it kill the shell's whole process group (the channel's session), so
/// nothing of the command survives, as on the OpenSSH path; a killed shell is not reused.
/// </para>
/// </summary>
internal sealed class PersistentShell : IAsyncDisposable
{
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
    private readonly InputQueue _input = new();
    private readonly FrameSink _stdout;
    private readonly FrameSink _stderr;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Shell? _shell;
    // SSH.NET runs the shell's input loop on a pool thread for the shell's whole life.
    private readonly IDisposable _reserve = BlockingWorkReserve.Hold();

    private PersistentShell()
    {
        _stdout = new FrameSink(Encoding.ASCII.GetBytes($"\n{_token} X "), _closed.Task);
        _stderr = new FrameSink(Encoding.ASCII.GetBytes($"\n{_token} X "), _closed.Task);
    }

    /// <summary>False once the shell was killed or its channel closed.</summary>
    public bool Usable { get; private set; } = true;

    /// <summary>Commands longer than this go on an exec channel: the shell reads them byte by byte.</summary>
    public const int MaxCommandBytes = 2048;

    // dash-compatible, and one fork per command. A reader in front of the shell owns the channel's stdin: it passes
    // every line on through a pipe, and a kill line (Ctrl+C, timeout) or EOF (the controller or its connection died)
    // makes it kill the whole process group, the running command included; it ignores TERM itself so that it lives
    // to send the KILL. The shell runs each command in a subshell whose stdin is /dev/null.
    private string Loop() =>
        $"T={_token}; NL=$(printf '\\nx'); NL=${{NL%x}}; " +
        "{ while IFS= read -r l; do [ \"$l\" = \"$T K\" ] && break; printf '%s\\n' \"$l\"; done; " +
        "trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0; } | { " +
        "printf '\\n%s X 0\\n' $T; printf '\\n%s X 0\\n' $T >&2; " +
        "while IFS= read -r h; do [ \"$h\" = \"$T C\" ] || continue; c=; " +
        "while IFS= read -r l; do [ \"$l\" = \"$T E\" ] && break; c=\"$c$l$NL\"; done; " +
        "( eval \"$c\" ) </dev/null; r=$?; " +
        "printf '\\n%s X %s\\n' $T $r; printf '\\n%s X %s\\n' $T $r >&2; done; }";

    /// <summary>Opens the channel and waits until the shell answers; throws when the server refuses a channel.</summary>
    public static async Task<PersistentShell> OpenAsync(SshClient client, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var shell = new PersistentShell();
        var input = shell._input;
        // The user's login shell starts first (the "shell" request), so anything its profile prints comes before
        // the ready frame and is dropped; one line makes it exec sh, so a csh or fish login works too.
        var ssh = client.CreateShellNoTerminal(input, shell._stdout, shell._stderr, 32 * 1024);
        // Stopped comes on a thread of its own once the channel has closed and the input thread has ended.
        ssh.Stopped += (_, _) => { shell.MarkClosed(); shell._stopped.TrySetResult(); };
        ssh.ErrorOccurred += (_, _) => shell.MarkClosed();
        shell._shell = ssh;
        shell._stdout.Begin(int.MaxValue);
        shell._stderr.Begin(int.MaxValue);
        await Task.Run(ssh.Start, cancellationToken).ConfigureAwait(false);
        shell.Send($"exec /bin/sh -c '{shell.Loop().Replace("'", "'\\''", StringComparison.Ordinal)}'\n");
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            await Task.WhenAll(shell._stdout.Done, shell._stderr.Done).WaitAsync(bounded.Token).ConfigureAwait(false);
        }
        catch
        {
            await shell.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        if (shell._stdout.ExitCode is null)
        {
            await shell.DisposeAsync().ConfigureAwait(false);
            throw new IOException("The remote shell closed before it was ready.");
        }
        return shell;
    }

    /// <summary>The outcome of one framed command.</summary>
    public sealed record Result(int? ExitCode, byte[] Stdout, byte[] Stderr, bool Truncated, bool Stopped);

    /// <summary>
    /// Runs shell text; <paramref name="stop"/> (timeout or cancellation) kills it and the shell. A null exit code
    /// with <see cref="Result.Stopped"/> false means the channel closed under the command.
    /// </summary>
    public async Task<Result> RunAsync(string command, int outputLimit, CancellationToken stop)
    {
        _stdout.Begin(outputLimit);
        _stderr.Begin(outputLimit);
        var text = new StringBuilder().Append(_token).Append(" C\n").Append(Encoding.UTF8.GetString(RemoteScript.CommandBytes(command)))
            .Append(_token).Append(" E\n");
        Send(text.ToString());
        var stopped = false;
        try
        {
            await Task.WhenAll(_stdout.Done, _stderr.Done).WaitAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            stopped = true;
            Usable = false;
            Send($"{_token} K\n");
            // The group dies at once; give its last output a moment to arrive.
            try { await _closed.Task.WaitAsync(TimeSpan.FromSeconds(3), CancellationToken.None).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
        var code = stopped ? null : _stdout.ExitCode;
        if (code is null) Usable = false;
        return new Result(code, _stdout.Collected(), _stderr.Collected(), _stdout.Truncated || _stderr.Truncated, stopped);
    }

    private void Send(string text) => _input.Add(Encoding.UTF8.GetBytes(text));

    private void MarkClosed()
    {
        Usable = false;
        _closed.TrySetResult();
    }

    /// <summary>
    /// Closes the channel. SSH.NET's Shell must not be disposed before its channel has closed (its input thread
    /// would then touch disposed handles on a pool thread and crash the process), so it is disposed only after
    /// its Stopped event; a shell whose session died without one is left to the collector.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Usable = false;
        _reserve.Dispose();
        if (_shell is not { } shell) return;
        try
        {
            await Task.Run(() => { if (shell.IsStarted && !_stopped.Task.IsCompleted) shell.Stop(); }).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            await _stopped.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            // Stopped is raised on its own thread after the input thread has finished.
            shell.Dispose();
        }
        catch (Exception ex) when (ex is TimeoutException or ObjectDisposedException or InvalidOperationException or Renci.SshNet.Common.SshException)
        {
            // The session is going away anyway.
        }
    }

    /// <summary>
    /// Receives one stream of the channel (on SSH.NET's session thread) and finds the end frame of the current
    /// command: <c>\nT X code\n</c>, which is always the last thing written before the shell waits.
    /// </summary>
    private sealed class FrameSink : Stream
    {
        private const int TailLength = 96;
        private readonly byte[] _marker;
        private readonly Task _closed;
        private readonly object _gate = new();
        private MemoryStream _kept = new();
        private readonly byte[] _tail = new byte[TailLength];
        private int _tailCount;
        private long _total;
        private int _limit;
        private TaskCompletionSource<int?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public FrameSink(byte[] marker, Task closed)
        {
            _marker = marker;
            _closed = closed;
            _ = closed.ContinueWith(_ => { lock (_gate) _done.TrySetResult(null); }, TaskScheduler.Default);
        }

        public Task Done => _done.Task;
        public int? ExitCode => _done.Task.IsCompletedSuccessfully ? _done.Task.Result : null;

        /// <summary>True when the command wrote more than the limit (the rest was dropped).</summary>
        public bool Truncated
        {
            get { lock (_gate) return (_frameStart ?? _total) > _limit; }
        }

        private long? _frameStart;

        public void Begin(int limit)
        {
            lock (_gate)
            {
                _kept = new MemoryStream();
                _tailCount = 0;
                _total = 0;
                _frameStart = null;
                _limit = limit;
                _done = new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_closed.IsCompleted) _done.TrySetResult(null);
            }
        }

        /// <summary>What the command wrote, without the end frame, cut at the limit.</summary>
        public byte[] Collected()
        {
            lock (_gate)
            {
                var length = (int)Math.Min(Math.Min(_frameStart ?? _total, _limit), _kept.Length);
                var bytes = _kept.GetBuffer();
                return bytes.AsSpan(0, length).ToArray();
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (_gate)
            {
                if (_done.Task.IsCompleted) return;
                // Bytes past the limit are kept only as far as a frame could reach, so it can be cut off.
                var room = (int)Math.Clamp(_limit + (long)TailLength - _kept.Length, 0, count);
                _kept.Write(buffer, offset, room);
                _total += count;
                var span = buffer.AsSpan(offset, count);
                if (span.Length >= TailLength)
                {
                    span[^TailLength..].CopyTo(_tail);
                    _tailCount = TailLength;
                }
                else
                {
                    var keep = Math.Min(_tailCount, TailLength - span.Length);
                    _tail.AsSpan(_tailCount - keep, keep).CopyTo(_tail);
                    span.CopyTo(_tail.AsSpan(keep));
                    _tailCount = keep + span.Length;
                }
                TryFinish();
            }
        }

        private void TryFinish()
        {
            var tail = _tail.AsSpan(0, _tailCount);
            if (tail.Length == 0 || tail[^1] != (byte)'\n') return;
            var at = tail.LastIndexOf(_marker);
            if (at < 0) return;
            var digits = tail[(at + _marker.Length)..^1];
            if (!int.TryParse(Encoding.ASCII.GetString(digits), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)) return;
            _frameStart = _total - tail.Length + at;
            _done.TrySetResult(code);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>
    /// The shell's stdin. SSH.NET's input thread waits on a pending read's wait handle (beside the channel's close), so
    /// a frame queued by the controller completes that read on the controller's own thread: the input thread wakes at
    /// once, with no continuation to run on another pool thread first (one thread hop less per command).
    /// </summary>
    private sealed class InputQueue : ReadOnlyStream
    {
        private readonly object _gate = new();
        private readonly Queue<byte[]> _frames = new();
        private byte[] _current = [];
        private int _offset;
        private PendingRead? _pending;

        private sealed class PendingRead(byte[] buffer, int offset, int count)
        {
            public readonly TaskCompletionSource<int> Done = new();
            public CancellationTokenRegistration Registration;
            public byte[] Buffer { get; } = buffer;
            public int Offset { get; } = offset;
            public int Count { get; } = count;
        }

        public void Add(byte[] frame)
        {
            if (frame.Length == 0) return;
            PendingRead? waiting;
            int n;
            lock (_gate)
            {
                waiting = _pending;
                if (waiting is null)
                {
                    _frames.Enqueue(frame);
                    return;
                }
                _pending = null;
                _current = frame;
                _offset = 0;
                n = Take(waiting.Buffer, waiting.Offset, waiting.Count);
            }
            waiting.Done.TrySetResult(n);
            waiting.Registration.Dispose();
        }

        // Under the gate: copies from the current frame, moving to the next queued one when it is used up.
        private int Take(byte[] buffer, int offset, int count)
        {
            if (_offset >= _current.Length)
            {
                if (!_frames.TryDequeue(out var next)) return 0;
                _current = next;
                _offset = 0;
            }
            var n = Math.Min(count, _current.Length - _offset);
            System.Buffer.BlockCopy(_current, _offset, buffer, offset, n);
            _offset += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            PendingRead pending;
            lock (_gate)
            {
                var n = Take(buffer, offset, count);
                if (n > 0) return Task.FromResult(n);
                // Never EOF: SSH.NET's input loop does not stop on a zero read, it would spin; the channel's close ends it.
                pending = _pending = new PendingRead(buffer, offset, count);
            }
            if (cancellationToken.CanBeCanceled)
            {
                pending.Registration = cancellationToken.Register(() =>
                {
                    lock (_gate) if (_pending == pending) _pending = null;
                    pending.Done.TrySetCanceled(cancellationToken);
                });
            }
            return pending.Done.Task;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
    }
}
