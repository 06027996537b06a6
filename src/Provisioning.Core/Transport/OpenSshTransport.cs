using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transport;

/// <summary>
/// <see cref="ISshTransport"/> over the system OpenSSH client. Every call runs <c>ssh</c> with
/// <c>ControlMaster=auto</c> and a per-host ControlPath: the first call to a host opens the master connection
/// (and runs its command over it), later calls are multiplexed over it (~7 ms instead of ~200 ms).
/// BatchMode is always on, host keys are checked strictly unless the testbed trusts new ones, the user's
/// ~/.ssh/config applies to everything the testbed leaves unset, and commands travel on stdin.
/// </summary>
public sealed class OpenSshTransport : ISshTransport
{
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(5);
    private readonly OpenSshOptions _options;
    private readonly ConcurrentDictionary<string, AgentMachine> _contacted = new();
    private readonly ConcurrentDictionary<string, int> _configuredPorts = new();
    private int _controlDirectoryReady;

    /// <summary>Creates a transport; no process starts until the first call.</summary>
    public OpenSshTransport(OpenSshOptions options) => _options = options;

    /// <summary>The settings this transport runs with.</summary>
    public OpenSshOptions Options => _options;

    /// <inheritdoc />
    public Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken) =>
        ConnectionProbe.CheckAsync(this, machine, _options.ConnectTimeout, null, cancellationToken);

    /// <inheritdoc />
    public async Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken)
    {
        var remoteLine = RemoteScript.Build(request, request.WorkDir ?? machine.WorkDir);
        var startInfo = NewStartInfo(BaseArguments(machine, master: true));
        startInfo.ArgumentList.Add("-T");
        startInfo.ArgumentList.Add("--");
        startInfo.ArgumentList.Add(machine.Address);
        startInfo.ArgumentList.Add(remoteLine);

        var started = DateTimeOffset.Now;
        var clock = Stopwatch.StartNew();
        var masterBefore = MasterSocketStamp(machine);
        using var process = new Process { StartInfo = startInfo };
        StartOrThrow(process, machine);
        _contacted.TryAdd(ControlPath(machine), machine);

        var stderr = new StderrCollector(request.OutputLimitBytes);
        var stdout = new CappedBuffer(request.OutputLimitBytes);
        var stderrTask = stderr.DrainAsync(process.StandardError.BaseStream);
        using var ioCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stdoutTask = request.ReadOutput is { } reader
            ? reader(process.StandardOutput.BaseStream, ioCancel.Token)
            : stdout.DrainAsync(process.StandardOutput.BaseStream);
        var stdinTask = FeedInputAsync(process, request, ioCancel.Token);

        using var timeout = request.Timeout is { } limit ? new CancellationTokenSource(limit) : null;
        using var stop = timeout is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var outcome = ExecutionOutcome.Exited;
        try
        {
            await process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
            // Streams may still hold the tail of the output after exit.
            await Task.WhenAll(stdoutTask, stderrTask).WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            outcome = cancellationToken.IsCancellationRequested ? ExecutionOutcome.Cancelled : ExecutionOutcome.TimedOut;
            await StopAsync(machine, process, stderr.RemotePid).ConfigureAwait(false);
            ioCancel.Cancel();
        }
        catch (Exception ex) when (request.ReadOutput is not null && ex is IOException or ProvisioningException)
        {
            // The output consumer failed (disk full, checksum...): stop the remote side and report it.
            await StopAsync(machine, process, stderr.RemotePid).ConfigureAwait(false);
            throw;
        }
        await Settle(stdinTask, stdoutTask, stderrTask).ConfigureAwait(false);
        clock.Stop();

        var errText = stderr.Text();
        var exitCode = process.HasExited ? process.ExitCode : -1;
        // A mux client whose master is killed under it can exit 255 silently before the remote pid line came through:
        // a connect failure always says why, so silence over a master that was open is a lost connection.
        var silentOverOpenMaster = masterBefore is not null && string.IsNullOrWhiteSpace(errText);
        if (outcome == ExecutionOutcome.Exited && exitCode == 255 && !stderr.RemoteStarted && !silentOverOpenMaster)
        {
            var jump = machine.Connection.ProxyJump is null ? null : JumpFailure(machine, started.UtcDateTime.AddSeconds(-1));
            return new RemoteExecution
            {
                Outcome = ExecutionOutcome.ConnectionFailed,
                Stderr = errText,
                StartTime = started,
                Duration = clock.Elapsed,
                FailureKind = jump?.Kind ?? SshFailureClassifier.Classify(errText),
                FailureMessage = jump?.Message ?? SshFailureClassifier.Explain(errText),
            };
        }
        // 255 after the remote shell started is either the command's own status or ssh losing the connection
        // (a host that dies can leave stderr silent); the master's health tells them apart.
        if (outcome == ExecutionOutcome.Exited && exitCode == 255 &&
            (SshFailureClassifier.LooksLost(errText) || MasterReplaced(machine, masterBefore) || !await MasterAliveAsync(machine).ConfigureAwait(false)))
        {
            outcome = ExecutionOutcome.ConnectionLost;
        }
        return new RemoteExecution
        {
            Outcome = outcome,
            ExitCode = outcome == ExecutionOutcome.Exited ? exitCode : null,
            Stdout = request.ReadOutput is null ? stdout.Text() : "",
            Stderr = errText,
            OutputTruncated = stdout.Truncated || stderr.Truncated,
            StartTime = started,
            Duration = clock.Elapsed,
            FailureKind = outcome == ExecutionOutcome.ConnectionLost ? ErrorKind.ConnectionLost : null,
            FailureMessage = outcome == ExecutionOutcome.ConnectionLost ? SshFailureClassifier.Explain(errText) : null,
        };
    }

    /// <summary>When the master's socket was made (null: no master yet), to tell a master that died from its successor.</summary>
    private DateTime? MasterSocketStamp(AgentMachine machine)
    {
        var path = ControlPath(machine);
        return File.Exists(path) ? File.GetLastWriteTimeUtc(path) : null;
    }

    /// <summary>
    /// True when the master this command went through is gone or was replaced since <paramref name="before"/>: another
    /// call (a cleanup after the failure, say) may already have opened a new one, which <c>-O check</c> would find alive.
    /// </summary>
    private bool MasterReplaced(AgentMachine machine, DateTime? before) =>
        before is { } stamp && MasterSocketStamp(machine) is var now && now != stamp;

    /// <summary>True when the machine's master connection answers <c>ssh -O check</c>.</summary>
    private async Task<bool> MasterAliveAsync(AgentMachine machine)
    {
        using var process = new Process { StartInfo = ClientCommand(machine, "-O", "check") };
        try
        {
            process.Start();
            process.StandardInput.Close();
            using var bounded = new CancellationTokenSource(KillGrace);
            await Task.WhenAll(process.StandardOutput.ReadToEndAsync(bounded.Token), process.StandardError.ReadToEndAsync(bounded.Token),
                process.WaitForExitAsync(bounded.Token)).ConfigureAwait(false);
            return process.ExitCode == 0;
        }
        catch (Exception ex) when (ex is OperationCanceledException or Win32Exception or InvalidOperationException)
        {
            TryKill(process);
            return false;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// An unset port is read once per machine from <c>ssh -G</c> with the machine's own options, so <c>{{ port }}</c>
    /// renders what ssh will really use (a <c>Port</c> in ~/.ssh/config); 22 when ssh cannot say.
    /// </remarks>
    public int EffectivePort(AgentMachine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        if (machine.Connection.Port is { } port) return port;
        return _configuredPorts.GetOrAdd(ControlPath(machine), _ => ConfiguredPort(machine));
    }

    private int ConfiguredPort(AgentMachine machine)
    {
        const int defaultPort = 22;
        return ClientConfig(machine) is { } config && config.TryGetValue("port", out var values) &&
               int.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var configured)
            ? configured
            : defaultPort;
    }

    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>?> _clientConfigs = new();

    /// <summary>
    /// What ssh would use for the machine (<c>ssh -G</c> with its options: ~/.ssh/config applied), keyword to values,
    /// read once per machine; null when there is no ssh client to ask.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? ClientConfig(AgentMachine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        return _clientConfigs.GetOrAdd(ControlPath(machine), _ => ReadClientConfig(machine));
    }

    private IReadOnlyDictionary<string, IReadOnlyList<string>>? ReadClientConfig(AgentMachine machine)
    {
        using var process = new Process { StartInfo = ClientCommand(machine, "-G") };
        try
        {
            process.Start();
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(KillGrace) || !output.Wait(KillGrace) || process.ExitCode != 0) { TryKill(process); return null; }
            var config = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var line in output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space <= 0) continue;
                var key = line[..space];
                if (!config.TryGetValue(key, out var values)) config[key] = values = new List<string>();
                values.Add(line[(space + 1)..].Trim());
            }
            return config.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException)
        {
            // No ssh client: nothing else can say what it would do.
            return null;
        }
    }

    /// <inheritdoc />
    public async Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken)
    {
        var path = ControlPath(machine);
        if (!_contacted.TryRemove(path, out _) || !File.Exists(path)) return;
        using var process = new Process { StartInfo = ClientCommand(machine, "-O", "exit") };
        try
        {
            process.Start();
            process.StandardInput.Close();
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(KillGrace);
            await Task.WhenAll(process.StandardOutput.ReadToEndAsync(bounded.Token), process.StandardError.ReadToEndAsync(bounded.Token),
                process.WaitForExitAsync(bounded.Token)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or Win32Exception or InvalidOperationException)
        {
            TryKill(process);
        }
    }

    /// <inheritdoc />
    public async Task CloseAllAsync(CancellationToken cancellationToken)
    {
        var machines = _contacted.Values.ToArray();
        await Task.WhenAll(machines.Select(m => CloseAsync(m, cancellationToken))).ConfigureAwait(false);
        try
        {
            if (Directory.Exists(_options.ControlDirectory) && !Directory.EnumerateFileSystemEntries(_options.ControlDirectory).Any())
            {
                // The next connection must create the folder again (a testbed stays usable after a close-all).
                Volatile.Write(ref _controlDirectoryReady, 0);
                Directory.Delete(_options.ControlDirectory);
            }
        }
        catch (IOException)
        {
            // A master another process still uses; it goes away after ControlPersist.
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(CloseAllAsync(CancellationToken.None));

    /// <summary>
    /// The ControlPath of a machine's master. Named by a hash of what identifies the connection, so it stays
    /// short (unix sockets allow 108 bytes) and two testbed hosts never share a master by accident.
    /// </summary>
    public string ControlPath(AgentMachine machine)
    {
        var c = machine.Connection;
        var identity = $"{c.User}@{machine.Address}:{c.Port}|{c.ProxyJump}|{c.IdentityFile}|{c.KnownHostsFile}";
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity)), 0, 8).ToLowerInvariant();
        return Path.Combine(_options.ControlDirectory, hash);
    }

    /// <summary>The ssh options for a machine (everything before the destination).</summary>
    internal List<string> BaseArguments(AgentMachine machine, bool master, int depth = 0)
    {
        EnsureControlDirectory();
        var c = machine.Connection;
        var args = new List<string>();
        if (_options.ConfigFile is { } config) { args.Add("-F"); args.Add(config); }
        Option(args, "BatchMode", "yes");
        Option(args, "ControlPath", ControlPath(machine));
        if (master)
        {
            Option(args, "ControlMaster", "auto");
            Option(args, "ControlPersist", $"{(int)_options.ControlPersist.TotalSeconds}s");
        }
        Option(args, "ConnectTimeout", $"{(int)Math.Ceiling(_options.ConnectTimeout.TotalSeconds)}");
        Option(args, "ServerAliveInterval", "15");
        Option(args, "ServerAliveCountMax", "3");
        Option(args, "StrictHostKeyChecking", c.TrustNewHostKeys == true ? "accept-new" : "yes");
        if (c.KnownHostsFile is { } knownHosts)
        {
            // A jump host outside the testbed may be known only to the user; a host of the testbed must not be.
            Option(args, "UserKnownHostsFile", machine.Index == JumpHostIndex
                ? $"{ConfigWord(knownHosts)} ~/.ssh/known_hosts ~/.ssh/known_hosts2"
                : ConfigWord(knownHosts));
        }
        if (c.IdentityFile is { } identity)
        {
            args.Add("-i");
            args.Add(identity);
            Option(args, "IdentitiesOnly", "yes");
        }
        if (JumpHop(machine) is { } hop) Option(args, "ProxyCommand", ProxyCommandThrough(machine, hop, depth));
        // kex: fast, an opt-in for labs: one classic exchange instead of the post-quantum hybrid default.
        if (c.FastKeyExchange == true) Option(args, "KexAlgorithms", "curve25519-sha256");
        if (c.Port is { } port) { args.Add("-p"); args.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
        if (c.User is { } user) { args.Add("-l"); args.Add(user); }
        foreach (var extra in _options.ExtraOptions) { args.Add("-o"); args.Add(extra); }
        return args;
    }

    /// <summary>The index of a jump host that is not a host of the testbed (a machine made for one connection).</summary>
    private const int JumpHostIndex = -1;

    /// <summary>How many hops a chain of ProxyJumps may have (it also stops a loop of testbed hosts).</summary>
    private const int MaxJumpDepth = 8;

    /// <summary>
    /// The hop that carries the connection to <paramref name="machine"/>: the last entry of its ProxyJump chain,
    /// whose own jump is the rest of the chain. A testbed host goes with its own settings; any other
    /// <c>[user@]host[:port]</c> goes with the target's identity file and known_hosts (and the user's own), since ssh
    /// -J would pass only -l, -p and -F and look for its key in ~/.ssh alone. ~/.ssh/config still applies to it.
    /// </summary>
    internal static AgentMachine? JumpHop(AgentMachine machine)
    {
        var chain = machine.Connection.ProxyJump;
        if (string.IsNullOrWhiteSpace(chain) || chain.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        var entries = chain.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var last = entries[^1];
        var rest = entries.Length > 1 ? string.Join(",", entries[..^1]) : null;
        if (machine.Testbed?[last] is { } listed && !ReferenceEquals(listed, machine))
        {
            if (rest is null) return listed;
            var hop = new AgentMachine(listed.Name, listed.Address, listed.Index, listed.Roles, listed.Connection with { ProxyJump = rest });
            return hop;
        }
        var (user, host, port) = ParseJump(last);
        var c = machine.Connection;
        return new AgentMachine(last, host, JumpHostIndex, [], new ConnectionSettings
        {
            User = user,
            Port = port,
            IdentityFile = c.IdentityFile,
            KnownHostsFile = c.KnownHostsFile,
            TrustNewHostKeys = c.TrustNewHostKeys,
            FastKeyExchange = c.FastKeyExchange,
            ProxyJump = rest,
        });
    }

    /// <summary>Splits <c>[user@]host[:port]</c> (an IPv6 host in brackets) as ssh -J reads it.</summary>
    internal static (string? User, string Host, int? Port) ParseJump(string jump)
    {
        var text = jump.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) ? jump[6..] : jump;
        string? user = null;
        var at = text.LastIndexOf('@');
        if (at > 0) { user = text[..at]; text = text[(at + 1)..]; }
        int? port = null;
        string host = text;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? text[1..close] : text;
            if (close > 0 && close + 1 < text.Length && text[close + 1] == ':' && int.TryParse(text.AsSpan(close + 2), out var p6)) port = p6;
        }
        else if (text.Count(ch => ch == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (int.TryParse(text.AsSpan(colon + 1), out var p)) { host = text[..colon]; port = p; }
        }
        return (user, host, port);
    }

    /// <summary>
    /// <c>ssh -W</c> through <paramref name="hop"/> with all of its settings, over its master connection when one is
    /// open. Its diagnostics go to a log of their own (<c>-E</c>), so a failed jump can be told from a failed target
    /// and named. ssh runs a ProxyCommand as <c>$SHELL -c "exec ..."</c> and expands %-tokens in it first, hence the
    /// quoting and the %%.
    /// </summary>
    private string ProxyCommandThrough(AgentMachine target, AgentMachine hop, int depth)
    {
        if (depth >= MaxJumpDepth)
            throw new ProvisioningException(ErrorKind.TestbedFormat,
                $"The proxy_jump chain of {target.Name} is longer than {MaxJumpDepth} hops, or loops ({target.Connection.ProxyJump}).", target);
        static string Word(string text) => PosixShell.Quote(text.Replace("%", "%%", StringComparison.Ordinal));
        var options = string.Join(" ", BaseArguments(hop, master: false, depth + 1).Select(Word));
        var log = JumpLog(target, hop);
        return $"{Word(_options.SshPath)} -E {Word(log)} {options} -W '[%h]:%p' -- {Word(hop.Address)}";
    }

    /// <summary>Where the ssh that jumps through <paramref name="hop"/> to <paramref name="target"/> writes its errors.</summary>
    private string JumpLog(AgentMachine target, AgentMachine hop) =>
        $"{ControlPath(target)}.{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(hop.Name + "@" + hop.Address)), 0, 4).ToLowerInvariant()}.jump";

    /// <summary>
    /// The first failure a jump host reported for this connection since <paramref name="since"/>, outermost hop
    /// first: the hop that failed first is the cause, the others only saw it close.
    /// </summary>
    private (ErrorKind Kind, string Message)? JumpFailure(AgentMachine target, DateTime since)
    {
        var hops = new List<(AgentMachine Target, AgentMachine Hop)>();
        for (var (t, hop) = (target, JumpHop(target)); hop is not null && hops.Count < MaxJumpDepth; (t, hop) = (hop, JumpHop(hop)))
            hops.Add((t, hop));
        hops.Reverse();
        foreach (var (t, hop) in hops)
        {
            var log = JumpLog(t, hop);
            try
            {
                if (!File.Exists(log) || File.GetLastWriteTimeUtc(log) < since) continue;
                var text = File.ReadAllText(log);
                File.Delete(log);
                if (string.IsNullOrWhiteSpace(text)) continue;
                return (SshFailureClassifier.Classify(text), $"jump host {hop.Name}: {SshFailureClassifier.Explain(text)}");
            }
            catch (IOException)
            {
                // Another call read it first; that call reports it.
            }
        }
        return null;
    }

    /// <summary>An ssh_config value, double-quoted when it holds a space.</summary>
    private static string ConfigWord(string value) => value.Contains(' ', StringComparison.Ordinal) ? $"\"{value}\"" : value;

    private static void Option(List<string> args, string name, string value)
    {
        args.Add("-o");
        args.Add($"{name}={value}");
    }

    /// <summary>An ssh call about the machine's connection rather than a command on it (<c>-O check</c>, <c>-G</c>).</summary>
    private ProcessStartInfo ClientCommand(AgentMachine machine, params string[] options)
    {
        var startInfo = NewStartInfo(BaseArguments(machine, master: false));
        foreach (var option in options) startInfo.ArgumentList.Add(option);
        startInfo.ArgumentList.Add("--");
        startInfo.ArgumentList.Add(machine.Address);
        return startInfo;
    }

    private ProcessStartInfo NewStartInfo(List<string> arguments)
    {
        var info = new ProcessStartInfo(_options.SshPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        return info;
    }

    private void StartOrThrow(Process process, AgentMachine machine)
    {
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new ProvisioningException(ErrorKind.DependencyMissing,
                $"The OpenSSH client '{_options.SshPath}' could not be started ({ex.Message}). Install the 'openssh-client' package.", machine, ex);
        }
    }

    private static async Task FeedInputAsync(Process process, RemoteExecutionRequest request, CancellationToken cancellationToken)
    {
        var stdin = process.StandardInput.BaseStream;
        try
        {
            if (request.WriteInput is { } write)
            {
                await write(stdin, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await stdin.WriteAsync(RemoteScript.CommandBytes(request.Command), cancellationToken).ConfigureAwait(false);
                await stdin.WriteAsync(Encoding.UTF8.GetBytes(RemoteScript.EndOfCommand + "\n"), cancellationToken).ConfigureAwait(false);
                await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                // stdin stays open while the command runs: its EOF tells the host that this controller is gone.
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The remote side stopped reading (exited or the connection failed), or the call was stopped;
            // the exit status tells why.
        }
        finally
        {
            try { stdin.Close(); } catch (IOException) { }
        }
    }

    private static async Task Settle(params Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(KillGrace).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or TimeoutException or ObjectDisposedException)
        {
            // Pipes of a killed process: whatever was read is kept.
        }
    }

    /// <summary>Kills the remote process group (when its pid is known), then the local ssh client.</summary>
    private async Task StopAsync(AgentMachine machine, Process process, int remotePid)
    {
                if (remotePid > 0)
        {
            try
            {
                using var grace = new CancellationTokenSource(KillGrace);
                await ExecuteAsync(machine, new RemoteExecutionRequest
                {
                    Command = RemoteScript.KillGroup(remotePid),
                    WorkDir = "/",
                }, grace.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ProvisioningException or IOException or InvalidOperationException)
            {
                // Best effort: the local kill below still closes the channel.
            }
        }
        TryKill(process);
        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(KillGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill();
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
        }
    }

    private void EnsureControlDirectory()
    {
        if (Volatile.Read(ref _controlDirectoryReady) != 0) return;
        Directory.CreateDirectory(_options.ControlDirectory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_options.ControlDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var parent = Path.GetDirectoryName(_options.ControlDirectory);
            if (parent is not null && parent.StartsWith(Path.GetTempPath(), StringComparison.Ordinal) && parent.Length > Path.GetTempPath().Length)
                File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Volatile.Write(ref _controlDirectoryReady, 1);
    }
}
