namespace Provisioning.Core.Transport;

/// <summary>
/// Builds the short, fixed shell line that ssh runs on the host around the user's command. It reports the
/// shell's pid on stderr first (so a timeout or Ctrl+C can kill the remote process group), enters the working
/// directory, optionally switches to sudo, and either evaluates the command read from stdin (keeping it out of
/// every process list) or runs the command given inline.
/// <para>
/// A command read from stdin ends at <see cref="EndOfCommand"/>, and the controller keeps stdin open until the
/// command exits. A watcher on the host waits for stdin's EOF: it comes early only when the connection or the
/// controller died (even a SIGKILL closes the channel), and then the watcher kills the command's process group.
/// Processes meant to outlive the controller leave that group on purpose (setsid).
/// </para>
/// </summary>
internal static class RemoteScript
{
    /// <summary>The line the remote shell writes to stderr before anything else; stripped from results.</summary>
    public const string PidMarker = "__PROVISIONING_PID__=";

    /// <summary>The line that ends a command sent on stdin; stdin then stays open as the controller's lifeline.</summary>
    public const string EndOfCommand = "__PROVISIONING_END_OF_COMMAND__";

    // Reads the command from stdin with builtins only (no "$(cat)" subshell: a fork and an exec per command are
    // measurable at 100 hosts on a small controller; read takes one byte at a time from a pipe, so nothing after
    // the end line is consumed). The watcher is a forked subshell on a copy of stdin (an asynchronous list would
    // get /dev/null); it traps TERM only once it fires, so the exit trap can still kill it (an exit inside the command runs the trap too); its output goes to /dev/null so it
    // never holds the channel open. kill 0 reaches the
    // whole group, sudo's side included. The command itself reads /dev/null, as it did when stdin was at EOF.
    private const string ReadStdinLines =
        "__prov_c=; while IFS= read -r __prov_l; do [ \"$__prov_l\" = " + EndOfCommand + " ] && break; __prov_c=\"$__prov_c$__prov_l\n\"; done; ";

    // Past a few KiB, one byte per read costs more than a fork and an exec of head, which reads in blocks and never
    // past the count it is given (the end line stays for the watcher, which drains it).
    private const int LinesReaderLimit = 2048;

    private const string WatchAndEval =
        "exec 3<&0; { while IFS= read -r __prov_l <&3; do :; done; trap '' TERM; kill -TERM 0; sleep 2; kill -KILL 0; } >/dev/null 2>&1 & __prov_w=$!; " +
        "trap 'kill $__prov_w 2>/dev/null' EXIT; eval \"$__prov_c\" </dev/null 3<&-";

    /// <summary>The command exactly as the transport writes it on stdin, before the end line.</summary>
    public static byte[] CommandBytes(string command) =>
        System.Text.Encoding.UTF8.GetBytes(command.EndsWith('\n') ? command : command + "\n");

    // Unquoted on purpose: empty for root, else split into the words of the sudo command.
    private const string AsRoot = "__prov_sudo=; [ \"$(id -u)\" -eq 0 ] || __prov_sudo='sudo -n --'; exec $__prov_sudo";

    /// <summary>The shell line around <paramref name="request"/>.</summary>
    /// <param name="request">The command, and whether the caller streams its stdin.</param>
    /// <param name="workDir">The directory to run it in, if any.</param>
    /// <param name="drainInput">
    /// For streamed stdin: read whatever the command left unread before exiting. SSH.NET checks that a channel is
    /// open and then sends data without holding the channel's lock, so data written while the host closes the
    /// channel can follow the client's own close, and sshd then drops the whole connection. A command that never
    /// exits before its stdin's EOF never races that.
    /// </param>
    public static string Build(RemoteExecutionRequest request, string? workDir, bool drainInput = false)
    {
        var body = request.WriteInput is not null
            ? (drainInput ? "(" + request.Command + "\n); __prov_rc=$?; cat >/dev/null 2>&1; exit $__prov_rc" : request.Command)
            : (CommandBytes(request.Command) is { Length: > LinesReaderLimit } bytes
                ? $"__prov_c=$(head -c {bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)}); "
                : ReadStdinLines) + WatchAndEval;
        var parts = new List<string> { $"echo \"{PidMarker}$$\" >&2" };
        if (!string.IsNullOrEmpty(workDir)) parts.Add(EnterDirectory(workDir));
        // cd happens before sudo so the elevated shell inherits the directory. A login that is already root needs
        // no sudo, and many root-only hosts (containers, minimal images) have none installed.
        parts.Add(request.Sudo ? AsRoot + " sh -c " + PosixShell.Quote(body) : body);
        return "sh -c " + PosixShell.Quote(string.Join("; ", parts));
    }

    /// <summary>
    /// The request as shell text run in place (by the persistent shell, which gives it /dev/null as stdin and kills
    /// its group itself): enter the working directory, switch to sudo, run the command.
    /// </summary>
    public static string Inline(RemoteExecutionRequest request, string? workDir)
    {
        var parts = new List<string>();
        if (!string.IsNullOrEmpty(workDir)) parts.Add(EnterDirectory(workDir));
        parts.Add(request.Sudo ? AsRoot + " sh -c " + PosixShell.Quote(request.Command) : request.Command);
        return string.Join("\n", parts);
    }

    private static string EnterDirectory(string workDir)
    {
        var wd = PosixShell.QuotePath(workDir);
        // The test is a builtin: mkdir is a fork and an exec, paid by every command when run unconditionally.
        return $"{{ [ -d {wd} ] || mkdir -p -- {wd} 2>/dev/null; cd -- {wd}; }} || {{ echo \"provisioning: cannot enter working directory {workDir.Replace("\"", "")}\" >&2; exit 126; }}";
    }

    /// <summary>
    /// A command (for dash too: its kill takes no <c>--</c>) that sends TERM to the process group of
    /// <paramref name="pid"/> and KILL 2 s later from a detached shell, so the caller need not wait (killed
    /// children linger as zombies until init reaps them, so polling them would wait for nothing).
    /// </summary>
    public static string KillGroup(int pid) =>
        $"pg=$(ps -o pgid= -p {pid} 2>/dev/null | tr -d ' '); pg=${{pg:-{pid}}}; " +
        $"kill -TERM -$pg 2>/dev/null || kill -TERM {pid} 2>/dev/null; " +
        "(sleep 2; kill -KILL -$pg) </dev/null >/dev/null 2>&1 & exit 0";
}
