using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transport;

/// <summary>
/// Runs shell commands on a machine. A testbed's provider chooses the implementation (today the system OpenSSH
/// client); nothing here is specific to one, so another (an in-process SSH library) can be added beside it.
/// </summary>
public interface ISshTransport : IAsyncDisposable
{
    /// <summary>
    /// Makes sure a connection to <paramref name="machine"/> is open (a multiplexed master for OpenSSH)
    /// and measures the round trip. Never throws for an unreachable host: the result says why.
    /// </summary>
    Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken);

    /// <summary>
    /// Runs <see cref="RemoteExecutionRequest.Command"/> on the machine (connecting first if needed).
    /// Connection problems, timeouts and cancellation come back as the result's <see cref="RemoteExecution.Outcome"/>;
    /// the remote process group is killed on timeout and on cancellation.
    /// </summary>
    Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The TCP port the transport connects to for <paramref name="machine"/>: the testbed's port, or when the testbed
    /// leaves it unset, the one the client configuration decides (for OpenSSH, <c>~/.ssh/config</c> through <c>ssh -G</c>).
    /// </summary>
    int EffectivePort(AgentMachine machine);

    /// <summary>
    /// True when the transport itself turns many concurrent calls into few processes and bounds them (Slurm: one job
    /// step for a fan-out of the same command), so a fan-out should hand it every host at once instead of throttling.
    /// </summary>
    bool GathersFanOut => false;

    /// <summary>Which client reaches <paramref name="machine"/>, and why (Get-AgentMachine's Transport columns).</summary>
    TransportChoice Choice(AgentMachine machine) => new(TransportKind.OpenSsh, "the testbed's transport is the OpenSSH client");

    /// <summary>Closes the machine's connection, if any.</summary>
    Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken);

    /// <summary>Closes every master connection this transport opened.</summary>
    Task CloseAllAsync(CancellationToken cancellationToken);
}

/// <summary>One command to run on one host.</summary>
public sealed class RemoteExecutionRequest
{
    /// <summary>POSIX shell text to run.</summary>
    public required string Command { get; init; }
    /// <summary>
    /// Writes the command's standard input (then it is closed). Without it, the command's standard input is empty
    /// and the transport keeps the command text out of every process list (OpenSSH sends it on the remote shell's
    /// stdin). With it, the command must be fixed and secret-free (file transfers), since it may travel in the
    /// open (OpenSSH puts it on the ssh command line).
    /// </summary>
    public Func<Stream, CancellationToken, Task>? WriteInput { get; init; }
    /// <summary>When set, consumes the raw standard output (downloads); <see cref="RemoteExecution.Stdout"/> is then empty.</summary>
    public Func<Stream, CancellationToken, Task>? ReadOutput { get; init; }
    /// <summary>Kill the command (and its process group) after this long. Null: no limit.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Run through <c>sudo -n</c>.</summary>
    public bool Sudo { get; init; }
    /// <summary>Directory to start in; null means the machine's WorkDir (or the login directory).</summary>
    public string? WorkDir { get; init; }
    /// <summary>Most bytes of stdout and of stderr kept in memory; the rest is dropped and flagged.</summary>
    public int OutputLimitBytes { get; init; } = 16 * 1024 * 1024;
}

/// <summary>How a remote execution ended.</summary>
public enum ExecutionOutcome
{
    /// <summary>The command ran and exited (with any exit code).</summary>
    Exited,
    /// <summary>The host could not be reached or refused us; the command did not run.</summary>
    ConnectionFailed,
    /// <summary>The connection dropped while the command ran.</summary>
    ConnectionLost,
    /// <summary>The command was killed after its timeout.</summary>
    TimedOut,
    /// <summary>The command was killed because the caller cancelled.</summary>
    Cancelled,
}

/// <summary>What one remote execution did.</summary>
public sealed class RemoteExecution
{
    /// <summary>How it ended.</summary>
    public required ExecutionOutcome Outcome { get; init; }
    /// <summary>The remote exit code when <see cref="Outcome"/> is Exited; otherwise null.</summary>
    public int? ExitCode { get; init; }
    /// <summary>Standard output as UTF-8 text (empty when consumed by <see cref="RemoteExecutionRequest.ReadOutput"/>).</summary>
    public string Stdout { get; init; } = "";
    /// <summary>Standard error as UTF-8 text (ssh's own diagnostics included when the connection failed).</summary>
    public string Stderr { get; init; } = "";
    /// <summary>True when output was cut at <see cref="RemoteExecutionRequest.OutputLimitBytes"/>.</summary>
    public bool OutputTruncated { get; init; }
    /// <summary>When the command was started.</summary>
    public DateTimeOffset StartTime { get; init; }
    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>For connection failures: the classified reason (unreachable, host key, authentication).</summary>
    public Errors.ErrorKind? FailureKind { get; init; }
    /// <summary>For connection failures: ssh's explanation.</summary>
    public string? FailureMessage { get; init; }
}

/// <summary>The result of <see cref="ISshTransport.ConnectAsync"/>.</summary>
public sealed class ConnectionCheck
{
    /// <summary>True when the host answered and authenticated us.</summary>
    public required bool Reachable { get; init; }
    /// <summary>Round trip of a no-op command over the open connection.</summary>
    public TimeSpan? Latency { get; init; }
    /// <summary>Time to open the connection (zero when it was already open).</summary>
    public TimeSpan ConnectTime { get; init; }
    /// <summary>Why it failed, when it did.</summary>
    public Errors.ErrorKind? FailureKind { get; init; }
    /// <summary>ssh's explanation, when it failed.</summary>
    public string? FailureMessage { get; init; }
}
