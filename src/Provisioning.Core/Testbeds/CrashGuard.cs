using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds;

/// <summary>
/// A tiny shell process that cleans up after this process if it dies without removing its testbed. The Local
/// provider's stops the agents (<see cref="Start"/>); the Slurm provider's cancels the allocation
/// (<see cref="RunOnOwnerDeath"/>).
/// <para>
/// The Local guard stops the agents if this process dies without removing its testbed (a crash,
/// SIGKILL, a test host torn down). It waits on a pipe whose write end only we hold: a normal removal writes
/// "disarm" and it exits; if we die first the kernel closes the pipe, it reads end-of-file, kills the agents
/// (only pids whose command line still names the state folder, in case a pid was reused) and deletes the
/// state. It runs in its own session so a terminal's Ctrl+C does not take it down. Like a normal removal it
/// stops each listener's sessions and their commands too (the process tree, found with pgrep).
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class CrashGuard : IDisposable
{
    private const string Script = """
        exec >/dev/null 2>&1
        n=$1; marker=$2; shift 2
        IFS= read -r line
        [ "$line" = disarm ] && exit 0
        tree() { for c in $(pgrep -P "$1" 2>/dev/null); do tree "$c"; done; echo "$1"; }
        running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
        pids=
        while [ "$n" -gt 0 ]; do
            if grep -qaF -- "$marker" "/proc/$1/cmdline" 2>/dev/null; then pids="$pids $(tree "$1")"; fi
            shift; n=$((n - 1))
        done
        for p in $pids; do kill -s TERM "$p"; done 2>/dev/null
        tries=0
        while [ $tries -lt 30 ]; do
            left=
            for p in $pids; do running "$p" && left="$left $p"; done
            [ -z "$left" ] && break
            sleep 0.1; tries=$((tries + 1))
        done
        for p in $left; do kill -s KILL "$p"; done 2>/dev/null
        rm -rf -- "$@"
        """;

    private readonly Process _process;
    private bool _disarmed;

    private CrashGuard(Process process) => _process = process;

    /// <summary>
    /// Starts watching. <paramref name="marker"/> must appear in each pid's command line (the state folder);
    /// <paramref name="paths"/> are deleted after the kill.
    /// </summary>
    public static CrashGuard Start(IReadOnlyCollection<int> pids, string marker, IEnumerable<string> paths) =>
        Launch(Script, [pids.Count.ToString(CultureInfo.InvariantCulture), marker, .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture)), .. paths], null);

    /// <summary>
    /// Starts a guard that runs <paramref name="script"/> (POSIX sh, with <paramref name="arguments"/> as $1...) only if
    /// this process dies before <see cref="Disarm"/>, with <paramref name="environment"/> added to its own.
    /// </summary>
    public static CrashGuard RunOnOwnerDeath(string script, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment) =>
        Launch("exec >/dev/null 2>&1\nIFS= read -r line\n[ \"$line\" = disarm ] && exit 0\n" + script, arguments, environment);

    private static CrashGuard Launch(string script, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);
        var start = new ProcessStartInfo(setsid ?? "/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            WorkingDirectory = "/",
        };
        if (setsid is not null) start.ArgumentList.Add("/bin/sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("provisioning-crash-guard");
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        if (environment is not null) foreach (var (name, value) in environment) start.Environment[name] = value;
        return new CrashGuard(Process.Start(start)!);
    }

    /// <summary>Process id of the guard (tests).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Tells the guard the testbed was removed properly; it exits without touching anything.</summary>
    public void Disarm()
    {
        if (_disarmed) return;
        _disarmed = true;
        try
        {
            _process.StandardInput.WriteLine("disarm");
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The guard is already gone; nothing to tell it.
        }
        _process.WaitForExit(2000);
    }

    /// <summary>
    /// Closes the pipe without disarming, exactly what the kernel does when this process dies. Tests use it to
    /// prove the guard cleans up after a crashed owner.
    /// </summary>
    internal void SimulateOwnerDeath()
    {
        _disarmed = true;
        _process.StandardInput.Close();
    }

    /// <summary>Waits for the guard to finish its work (tests).</summary>
    internal bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();
}
