using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Provisioning.Core.Transport;

/// <summary>Settings of <see cref="SshNetTransport"/>.</summary>
public sealed class SshNetOptions
{
    /// <summary>TCP connect plus key exchange and authentication.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Keepalive on idle connections (as ServerAliveInterval).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Persistent shells per host for concurrent commands; sshd's MaxSessions (10) bounds all channels.</summary>
    public int MaxShellsPerHost { get; init; } = 4;
}

/// <summary>
/// <see cref="ISshTransport"/> in process, over SSH.NET: one authenticated connection per host for the session, and
/// commands on a <see cref="PersistentShell"/> (no remote shell start per command). File streams (stdin or stdout
/// consumed as bytes) and long commands run on exec channels, with the same remote script as the OpenSSH path.
/// Host keys are checked with <see cref="KnownHosts"/>, as strictly as OpenSSH checks them.
/// </summary>
public sealed class SshNetTransport : ISshTransport
{
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(5);
    private readonly Func<AgentMachine, SshNetEndpoint> _resolve;
    private readonly SshNetOptions _options;
    private readonly ConcurrentDictionary<string, Lazy<Task<Connection>>> _connections = new();

    /// <summary>Creates a transport; <paramref name="resolve"/> says how to reach each machine.</summary>
    public SshNetTransport(Func<AgentMachine, SshNetEndpoint> resolve, SshNetOptions? options = null)
    {
        _resolve = resolve;
        _options = options ?? new SshNetOptions();
    }

    /// <inheritdoc />
    public Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken) =>
        ConnectionProbe.CheckAsync(this, machine, _options.ConnectTimeout, "", cancellationToken);

    /// <inheritdoc />
    public async Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        SshNetEndpoint endpoint;
        Connection connection;
        try
        {
            endpoint = _resolve(machine);
            connection = await ConnectionAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new RemoteExecution { Outcome = ExecutionOutcome.Cancelled, StartTime = started, Duration = clock.Elapsed };
        }
        catch (ConnectFailure failure)
        {
            return new RemoteExecution
            {
                Outcome = ExecutionOutcome.ConnectionFailed,
                Stderr = failure.Message,
                StartTime = started,
                Duration = clock.Elapsed,
                FailureKind = failure.Kind,
                FailureMessage = failure.Message,
            };
        }

        var workDir = request.WorkDir ?? machine.WorkDir;
        using var timeout = request.Timeout is { } limit ? new CancellationTokenSource(limit) : null;
        using var stop = timeout is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var onShell = request.WriteInput is null && request.ReadOutput is null &&
                      RemoteScript.CommandBytes(request.Command).Length <= PersistentShell.MaxCommandBytes;
        RemoteExecution result;
        try
        {
            result = onShell
                ? await OnShellAsync(connection, request, workDir, stop.Token).ConfigureAwait(false)
                : await OnExecChannelAsync(connection, request, workDir, stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException
                                       || (ex is IOException && request.ReadOutput is null))
        {
            Forget(connection);
            result = new RemoteExecution { Outcome = ExecutionOutcome.ConnectionLost, FailureKind = ErrorKind.ConnectionLost, FailureMessage = $"Connection to {endpoint.Name} lost: {ex.Message}" };
        }
        var outcome = result.Outcome switch
        {
            ExecutionOutcome.Cancelled when !cancellationToken.IsCancellationRequested => ExecutionOutcome.TimedOut,
            var other => other,
        };
        return new RemoteExecution
        {
            Outcome = outcome,
            ExitCode = outcome == ExecutionOutcome.Exited ? result.ExitCode : null,
            Stdout = result.Stdout,
            Stderr = result.Stderr,
            OutputTruncated = result.OutputTruncated,
            StartTime = started,
            Duration = clock.Elapsed,
            FailureKind = result.FailureKind,
            FailureMessage = result.FailureMessage,
        };
    }

    private async Task<RemoteExecution> OnShellAsync(Connection connection, RemoteExecutionRequest request, string? workDir, CancellationToken stop)
    {
        var shell = await connection.RentShellAsync(_options.ConnectTimeout, stop).ConfigureAwait(false);
        PersistentShell.Result run;
        try
        {
            run = await shell.RunAsync(RemoteScript.Inline(request, workDir), request.OutputLimitBytes, stop).ConfigureAwait(false);
        }
        finally
        {
            await connection.ReturnShellAsync(shell).ConfigureAwait(false);
        }
        var stdout = Encoding.UTF8.GetString(run.Stdout);
        var stderr = Encoding.UTF8.GetString(run.Stderr);
        if (run.Stopped) return new RemoteExecution { Outcome = ExecutionOutcome.Cancelled, Stdout = stdout, Stderr = stderr, OutputTruncated = run.Truncated };
        if (run.ExitCode is not { } code)
        {
            if (!connection.Client.IsConnected) Forget(connection);
            return new RemoteExecution
            {
                Outcome = ExecutionOutcome.ConnectionLost, Stdout = stdout, Stderr = stderr, OutputTruncated = run.Truncated,
                FailureKind = ErrorKind.ConnectionLost, FailureMessage = $"Connection to {connection.Endpoint.Name} closed while the command ran.",
            };
        }
        return new RemoteExecution { Outcome = ExecutionOutcome.Exited, ExitCode = code, Stdout = stdout, Stderr = stderr, OutputTruncated = run.Truncated };
    }

    /// <summary>
    /// An exec channel, for byte streams: SSH.NET's channel streams block their reader, so each is pumped on a
    /// thread of its own into a pipe (a fan-out of a hundred transfers must not starve the thread pool).
    /// </summary>
    private async Task<RemoteExecution> OnExecChannelAsync(Connection connection, RemoteExecutionRequest request, string? workDir, CancellationToken stop)
    {
        using var command = connection.Client.CreateCommand(RemoteScript.Build(request, workDir, drainInput: true));
        // Opening a channel waits on SSH.NET's session semaphore synchronously.
        using var reserve = BlockingWorkReserve.Hold();
        Task execution = Task.CompletedTask;
        Stream input = Stream.Null;
        await Task.Run(() =>
        {
            execution = command.ExecuteAsync(CancellationToken.None);
            try
            {
                input = command.CreateInputStream();
            }
            catch (InvalidOperationException) when (execution.IsCompleted)
            {
                // A command that ended before its stdin was opened (it reads none).
            }
        }, stop).ConfigureAwait(false);
        var stderr = new StderrCollector(request.OutputLimitBytes);
        var stdout = new CappedBuffer(request.OutputLimitBytes);
        using var ioCancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var stderrTask = OnOwnThread(() => stderr.DrainAsync(new BlockingReadStream(command.ExtendedOutputStream)));
        Task stdoutTask;
        if (request.ReadOutput is { } reader)
        {
            var pipe = new Pipe();
            _ = OnOwnThread(() => PumpIntoAsync(command.OutputStream, pipe.Writer));
            stdoutTask = ConsumeAsync(reader, pipe.Reader, ioCancel.Token);
        }
        else
        {
            stdoutTask = OnOwnThread(() => stdout.DrainAsync(new BlockingReadStream(command.OutputStream)));
        }
        var stdinTask = FeedInputAsync(input, request, execution, ioCancel.Token);

        var stopped = false;
        Exception? lost = null;
        try
        {
            await execution.WaitAsync(stop).ConfigureAwait(false);
            await Task.WhenAll(stdoutTask, stderrTask).WaitAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            stopped = true;
            await KillAsync(connection, stderr.RemotePid).ConfigureAwait(false);
            ioCancel.Cancel();
        }
        catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException)
        {
            lost = ex;
            ioCancel.Cancel();
        }
        catch (Exception ex) when (request.ReadOutput is not null && ex is IOException or ProvisioningException)
        {
            // The output consumer failed: a connection that died under it is a lost connection; anything else
            // (disk full, checksum) is the consumer's own error, after the remote side is stopped.
            ioCancel.Cancel();
            if (!connection.Client.IsConnected || (execution.IsCompleted && command.ExitStatus is null)) lost = ex;
            else
            {
                await KillAsync(connection, stderr.RemotePid).ConfigureAwait(false);
                await Settle(stdinTask, stdoutTask, stderrTask).ConfigureAwait(false);
                throw;
            }
        }
        // Every stream task has finished (or given up) before the result goes back: a consumer still writing a
        // local file after its host's result would race the caller's cleanup.
        await Settle(stdinTask, stdoutTask, stderrTask).ConfigureAwait(false);
        if (lost is not null)
        {
            Forget(connection);
            return new RemoteExecution
            {
                Outcome = ExecutionOutcome.ConnectionLost, Stderr = stderr.Text(),
                FailureKind = ErrorKind.ConnectionLost, FailureMessage = $"Connection to {connection.Endpoint.Name} lost: {lost.Message}",
            };
        }
        var text = stderr.Text();
        if (stopped) return new RemoteExecution { Outcome = ExecutionOutcome.Cancelled, Stdout = stdout.Text(), Stderr = text, OutputTruncated = stdout.Truncated || stderr.Truncated };
        if (command.ExitStatus is not { } code)
        {
            if (!connection.Client.IsConnected) Forget(connection);
            return new RemoteExecution
            {
                Outcome = command.ExitSignal is null ? ExecutionOutcome.ConnectionLost : ExecutionOutcome.Exited,
                ExitCode = command.ExitSignal is null ? null : 255,
                Stderr = text,
                FailureKind = command.ExitSignal is null ? ErrorKind.ConnectionLost : null,
                FailureMessage = command.ExitSignal is null ? $"Connection to {connection.Endpoint.Name} closed while the command ran." : null,
            };
        }
        return new RemoteExecution
        {
            Outcome = ExecutionOutcome.Exited,
            ExitCode = code,
            Stdout = request.ReadOutput is null ? stdout.Text() : "",
            Stderr = text,
            OutputTruncated = stdout.Truncated || stderr.Truncated,
        };
    }

    private static Task OnOwnThread(Func<Task> work) =>
        Task.Factory.StartNew(() => work().GetAwaiter().GetResult(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task PumpIntoAsync(Stream source, PipeWriter writer)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
            {
                var flushed = await writer.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                if (flushed.IsCompleted) break;
            }
            await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SshException)
        {
            await writer.CompleteAsync(ex).ConfigureAwait(false);
        }
    }

    private static async Task ConsumeAsync(Func<Stream, CancellationToken, Task> reader, PipeReader pipe, CancellationToken cancellationToken)
    {
        await using var stream = pipe.AsStream();
        await reader(stream, cancellationToken).ConfigureAwait(false);
    }

    private static async Task FeedInputAsync(Stream channelInput, RemoteExecutionRequest request, Task execution, CancellationToken cancellationToken)
    {
        try
        {
            if (request.WriteInput is { } write)
            {
                var pipe = new Pipe();
                var pump = OnOwnThread(async () =>
                {
                    var source = pipe.Reader.AsStream();
                    var buffer = new byte[64 * 1024];
                    int read;
                    while ((read = source.Read(buffer, 0, buffer.Length)) > 0) channelInput.Write(buffer, 0, read);
                    await Task.CompletedTask.ConfigureAwait(false);
                });
                try
                {
                    await using (var writer = pipe.Writer.AsStream())
                        await write(writer, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                }
                await pump.ConfigureAwait(false);
            }
            else
            {
                var bytes = RemoteScript.CommandBytes(request.Command).Concat(Encoding.UTF8.GetBytes(RemoteScript.EndOfCommand + "\n")).ToArray();
                await Task.Run(() => channelInput.Write(bytes, 0, bytes.Length), cancellationToken).ConfigureAwait(false);
                // stdin stays open while the command runs: its EOF tells the host that this controller is gone.
                await execution.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SshException or InvalidOperationException)
        {
            // The remote side stopped reading, or the call was stopped; the exit status says why.
        }
        finally
        {
            try { channelInput.Dispose(); } catch (Exception ex) when (ex is IOException or ObjectDisposedException or SshException or InvalidOperationException) { }
        }
    }

    private static async Task Settle(params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(KillGrace).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or TimeoutException or ObjectDisposedException or SshException)
        {
            // Streams of a stopped channel: whatever was read is kept.
        }
    }

    /// <summary>Kills the exec channel's remote process group through a shell of the same connection.</summary>
    private async Task KillAsync(Connection connection, int remotePid)
    {
        if (remotePid <= 0) return;
        try
        {
            using var grace = new CancellationTokenSource(KillGrace);
            await OnShellAsync(connection, new RemoteExecutionRequest { Command = RemoteScript.KillGroup(remotePid) }, "/", grace.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or SocketException)
        {
            // Best effort: closing the channel ends the lifeline, and the remote watcher kills the group.
        }
    }

    /// <summary>The key exchange and host key algorithms of the machine's open connection, if one is open (diagnostics, tests).</summary>
    public (string KeyExchange, string HostKey)? NegotiatedAlgorithms(AgentMachine machine) =>
        _connections.TryGetValue(_resolve(machine).ConnectionKey, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully
            ? (lazy.Value.Result.Client.ConnectionInfo.CurrentKeyExchangeAlgorithm ?? "", lazy.Value.Result.Client.ConnectionInfo.CurrentHostKeyAlgorithm ?? "")
            : null;

    /// <inheritdoc />
    public int EffectivePort(AgentMachine machine) => machine.Connection.Port ?? _resolve(machine).Port;

    /// <inheritdoc />
    public async Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken)
    {
        if (_connections.TryRemove(_resolve(machine).ConnectionKey, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task CloseAllAsync(CancellationToken cancellationToken)
    {
        var all = _connections.ToArray();
        _connections.Clear();
        // Targets first: a jump's connection carries theirs.
        var open = all.Where(p => p.Value.IsValueCreated && p.Value.Value.IsCompletedSuccessfully).Select(p => p.Value.Value.Result)
            .OrderByDescending(c => Depth(c.Endpoint)).ToArray();
        foreach (var depthGroup in open.GroupBy(c => Depth(c.Endpoint)))
            await Task.WhenAll(depthGroup.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private static int Depth(SshNetEndpoint endpoint) => endpoint.Jump is null ? 0 : 1 + Depth(endpoint.Jump);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(CloseAllAsync(CancellationToken.None));

    private void Forget(Connection connection)
    {
        if (_connections.TryGetValue(connection.Endpoint.ConnectionKey, out var lazy) && lazy.IsValueCreated &&
            lazy.Value.IsCompletedSuccessfully && ReferenceEquals(lazy.Value.Result, connection) &&
            _connections.TryRemove(new KeyValuePair<string, Lazy<Task<Connection>>>(connection.Endpoint.ConnectionKey, lazy)))
            _ = connection.DisposeAsync().AsTask();
    }

    private async Task<Connection> ConnectionAsync(SshNetEndpoint endpoint, CancellationToken cancellationToken)
    {
        while (true)
        {
            var lazy = _connections.GetOrAdd(endpoint.ConnectionKey, _ => new Lazy<Task<Connection>>(() => OpenAsync(endpoint)));
            Connection connection;
            try
            {
                connection = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // A failed connect is not kept: the next call tries again, as ssh would.
                _connections.TryRemove(new KeyValuePair<string, Lazy<Task<Connection>>>(endpoint.ConnectionKey, lazy));
                throw;
            }
            if (connection.Client.IsConnected) return connection;
            Forget(connection);
        }
    }

    private async Task<Connection> OpenAsync(SshNetEndpoint endpoint)
    {
        ForwardedPortLocal? forward = null;
        var host = endpoint.Host;
        var port = endpoint.Port;
        if (endpoint.Jump is { } jump)
        {
            Connection hop;
            try
            {
                hop = await ConnectionAsync(jump, CancellationToken.None).ConfigureAwait(false);
            }
            catch (ConnectFailure failure)
            {
                throw new ConnectFailure(failure.Kind, $"jump host {jump.Name}: {failure.Message}");
            }
            // The target's connection rides a direct-tcpip channel of the jump's, through a loopback listener.
            forward = new ForwardedPortLocal("127.0.0.1", 0, endpoint.Host, (uint)endpoint.Port);
            hop.Client.AddForwardedPort(forward);
            forward.Start();
            host = "127.0.0.1";
            port = (int)forward.BoundPort;
        }

        var keys = new List<IPrivateKeySource>();
        foreach (var (key, certificate) in endpoint.Identities)
        {
            try
            {
                keys.Add(certificate is null ? new PrivateKeyFile(key) : new PrivateKeyFile(key, null, certificate));
            }
            catch (Exception ex) when (ex is SshException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
            {
                // A key that does not load is skipped, as ssh skips it; authentication says if none is left.
            }
        }
        var info = new ConnectionInfo(host, port, endpoint.User, new PrivateKeyAuthenticationMethod(endpoint.User, keys.ToArray()))
        {
            Timeout = _options.ConnectTimeout,
        };
        if (endpoint.FastKeyExchange)
        {
            foreach (var name in info.KeyExchangeAlgorithms.Keys.ToArray())
                if (!name.StartsWith("curve25519-sha256", StringComparison.Ordinal)) info.KeyExchangeAlgorithms.Remove(name);
        }
        var known = KnownHosts.Read(endpoint.KnownHostsFiles);
        PreferKnownKeyTypes(info, known.KeyTypesFor(endpoint.LookupName));

        var client = new SshClient(info) { KeepAliveInterval = _options.KeepAliveInterval };
        string? refusal = null;
        client.HostKeyReceived += (_, e) =>
        {
            var verdict = known.Check(endpoint.LookupName, e.HostKey);
            var type = KnownHosts.KeyTypeOf(e.HostKey);
            switch (verdict)
            {
                case HostKeyVerdict.Known:
                    e.CanTrust = true;
                    break;
                case HostKeyVerdict.Unknown when endpoint.TrustNewHostKeys && endpoint.KnownHostsFiles.Count > 0:
                    KnownHosts.Append(endpoint.KnownHostsFiles[0], endpoint.LookupName, e.HostKey);
                    e.CanTrust = true;
                    break;
                case HostKeyVerdict.Unknown:
                    refusal = $"No {type} host key is known for {endpoint.LookupName} (in {string.Join(", ", endpoint.KnownHostsFiles)}), " +
                              "and new host keys are not trusted. Host key verification failed.";
                    e.CanTrust = false;
                    break;
                case HostKeyVerdict.Changed:
                    refusal = $"REMOTE HOST IDENTIFICATION HAS CHANGED for {endpoint.LookupName}: it offered the {type} key {e.FingerPrintSHA256}, " +
                              $"which is not the one known at {string.Join(", ", known.LinesFor(endpoint.LookupName, e.HostKey))}. Host key verification failed.";
                    e.CanTrust = false;
                    break;
                case HostKeyVerdict.Revoked:
                    refusal = $"The {type} key of {endpoint.LookupName} is marked @revoked. Host key verification failed.";
                    e.CanTrust = false;
                    break;
                default:
                    refusal = $"{endpoint.LookupName} is under a @cert-authority line, which only the OpenSSH transport checks. Host key verification failed.";
                    e.CanTrust = false;
                    break;
            }
        };
        try
        {
            using var bounded = new CancellationTokenSource(_options.ConnectTimeout + TimeSpan.FromSeconds(1));
            using var reserve = BlockingWorkReserve.Hold();
            await client.ConnectAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SshException or SocketException or OperationCanceledException or ProxyException or IOException or TimeoutException)
        {
            client.Dispose();
            forward?.Dispose();
            throw refusal is not null
                ? new ConnectFailure(ErrorKind.HostKeyVerificationFailed, refusal)
                : Classify(endpoint, ex);
        }
        return new Connection(endpoint, client, forward, Math.Max(1, _options.MaxShellsPerHost));
    }

    /// <summary>Offers the host key algorithms of the keys known for the host first (as OpenSSH orders them).</summary>
    private static void PreferKnownKeyTypes(ConnectionInfo info, IReadOnlyList<string> knownTypes)
    {
        if (knownTypes.Count == 0) return;
        bool Fits(string algorithm) => knownTypes.Any(type => algorithm == type || algorithm.StartsWith(type + "-cert", StringComparison.Ordinal) ||
                                                             (type == "ssh-rsa" && algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal)));
        var ordered = info.HostKeyAlgorithms.ToArray();
        if (!ordered.Any(a => Fits(a.Key))) return;
        info.HostKeyAlgorithms.Clear();
        foreach (var pair in ordered.Where(a => Fits(a.Key))) info.HostKeyAlgorithms.Add(pair.Key, pair.Value);
        foreach (var pair in ordered.Where(a => !Fits(a.Key))) info.HostKeyAlgorithms.Add(pair.Key, pair.Value);
    }

    private static ConnectFailure Classify(SshNetEndpoint endpoint, Exception ex) => ex switch
    {
        SshAuthenticationException => new(ErrorKind.AuthenticationFailed, $"{endpoint.User}@{endpoint.Name}: Permission denied (publickey): {ex.Message}"),
        SocketException socket => new(ErrorKind.HostUnreachable, $"ssh: connect to host {endpoint.Host} port {endpoint.Port}: {socket.Message}"),
        SshOperationTimeoutException or OperationCanceledException or TimeoutException =>
            new(ErrorKind.HostUnreachable, $"ssh: connect to host {endpoint.Host} port {endpoint.Port}: Connection timed out"),
        _ => new(ErrorKind.HostUnreachable, $"ssh: connection to {endpoint.Host} port {endpoint.Port} failed: {ex.Message}"),
    };

    /// <summary>A connection that could not be opened, with the kind the error record gets.</summary>
    private sealed class ConnectFailure(ErrorKind kind, string message) : Exception(message)
    {
        public ErrorKind Kind { get; } = kind;
    }

    /// <summary>One host's connection and its pool of persistent shells.</summary>
    private sealed class Connection(SshNetEndpoint endpoint, SshClient client, ForwardedPortLocal? forward, int maxShells) : IAsyncDisposable
    {
        private readonly object _gate = new();
        private readonly Stack<PersistentShell> _idle = new();
        private readonly List<PersistentShell> _all = new();
        private SemaphoreSlim? _slots;

        public SshNetEndpoint Endpoint { get; } = endpoint;
        public SshClient Client { get; } = client;

        public async Task<PersistentShell> RentShellAsync(TimeSpan openTimeout, CancellationToken cancellationToken)
        {
            var slots = LazyInitializer.EnsureInitialized(ref _slots, () => new SemaphoreSlim(maxShells, maxShells));
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                while (_idle.TryPop(out var idle))
                {
                    if (idle.Usable) return idle;
                    _all.Remove(idle);
                    _ = idle.DisposeAsync().AsTask();
                }
            }
            try
            {
                var shell = await PersistentShell.OpenAsync(Client, openTimeout, cancellationToken).ConfigureAwait(false);
                lock (_gate) _all.Add(shell);
                return shell;
            }
            catch
            {
                slots.Release();
                throw;
            }
        }

        public async Task ReturnShellAsync(PersistentShell shell)
        {
            if (shell.Usable)
            {
                lock (_gate) _idle.Push(shell);
            }
            else
            {
                lock (_gate) _all.Remove(shell);
                await shell.DisposeAsync().ConfigureAwait(false);
            }
            _slots?.Release();
        }

        public async ValueTask DisposeAsync()
        {
            PersistentShell[] shells;
            lock (_gate)
            {
                shells = _all.ToArray();
                _all.Clear();
                _idle.Clear();
            }
            await Task.WhenAll(shells.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
            await Task.Run(() =>
            {
                try
                {
                    forward?.Stop();
                    if (Client.IsConnected) Client.Disconnect();
                }
                catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    // Already gone.
                }
                Client.Dispose();
                forward?.Dispose();
            }).WaitAsync(KillGrace).ConfigureAwait(false);
        }
    }

    /// <summary>A stream whose async reads are the synchronous ones (read on a thread of its own).</summary>
    private sealed class BlockingReadStream(Stream inner) : ReadOnlyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(inner.Read(buffer, offset, count));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(inner.Read(buffer.Span));
    }
}
