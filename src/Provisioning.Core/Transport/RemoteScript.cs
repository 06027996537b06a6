namespace Provisioning.Core.Transport;

/// <summary>
/// Builds the short, fixed shell line that ssh runs on the host around the user's command. It reports the
/// shell's pid on stderr first (so a timeout or Ctrl+C can kill the remote process group), enters the working
/// directory, optionally switches to sudo, and either evaluates the command read from stdin (keeping it out of
/// every process list) or runs the command given inline.
/// </summary>
internal static class RemoteScript
{
    /// <summary>The line the remote shell writes to stderr before anything else; stripped from results.</summary>
    public const string PidMarker = "__PROVISIONING_PID__=";

    // Reads the whole command from stdin with builtins only (no "$(cat)" subshell: a fork and an exec per
    // command are measurable at 100 hosts on a small controller), then evaluates it with stdin at EOF.
    private const string ReadStdinAndEval =
        "__prov_c=; while IFS= read -r __prov_l || [ -n \"$__prov_l\" ]; do __prov_c=\"$__prov_c$__prov_l\n\"; __prov_l=; done; eval \"$__prov_c\"";

    // Unquoted on purpose: empty for root, else split into the words of the sudo command.
    private const string AsRoot = "__prov_sudo=; [ \"$(id -u)\" -eq 0 ] || __prov_sudo='sudo -n --'; exec $__prov_sudo";

    public static string Build(RemoteExecutionRequest request, string? workDir)
    {
        var body = request.WriteInput is null
            ? ReadStdinAndEval
            : request.Command;
        var parts = new List<string> { $"echo \"{PidMarker}$$\" >&2" };
        if (!string.IsNullOrEmpty(workDir))
        {
            var wd = PosixShell.QuotePath(workDir);
            parts.Add($"{{ mkdir -p -- {wd} 2>/dev/null; cd -- {wd}; }} || {{ echo \"provisioning: cannot enter working directory {workDir.Replace("\"", "")}\" >&2; exit 126; }}");
        }
        // cd happens before sudo so the elevated shell inherits the directory. A login that is already root needs
        // no sudo, and many root-only hosts (containers, minimal images) have none installed.
        parts.Add(request.Sudo ? AsRoot + " sh -c " + PosixShell.Quote(body) : body);
        return "sh -c " + PosixShell.Quote(string.Join("; ", parts));
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
