using System.Diagnostics;
using System.Runtime.InteropServices;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Testbeds.Slurm;

/// <summary>
/// Runs the Slurm client commands (<c>salloc</c>, <c>squeue</c>, <c>sinfo</c>, <c>scontrol</c>, <c>scancel</c>,
/// <c>srun</c>) that the controller needs on a cluster, with the environment the testbed was created with (for
/// example <c>SLURM_CONF</c> of a test cluster). Nothing else of Slurm is needed on the controller.
/// </summary>
public sealed class SlurmClient
{
    private readonly Dictionary<string, string> _environment;
    private readonly string? _binDirectory;

    /// <param name="environment">Variables added to every client command's environment (SLURM_CONF), or null.</param>
    /// <param name="binDirectory">Folder of the client commands; null looks them up on PATH.</param>
    public SlurmClient(IReadOnlyDictionary<string, string>? environment = null, string? binDirectory = null)
    {
        _environment = environment?.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal) ?? new(StringComparer.Ordinal);
        _binDirectory = binDirectory;
    }

    /// <summary>The variables added to every client command's environment.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>The full path of a client command.</summary>
    /// <exception cref="ProvisioningException"><see cref="ErrorKind.SchedulerClientMissing"/> when it is not installed.</exception>
    public string Locate(string program)
    {
        var folders = _binDirectory is not null
            ? [_binDirectory]
            : (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/local/bin");
        foreach (var folder in folders)
        {
            var candidate = Path.Combine(folder, program);
            if (File.Exists(candidate)) return candidate;
        }
        throw new ProvisioningException(ErrorKind.SchedulerClientMissing,
            $"The Slurm client command '{program}' was not found{(_binDirectory is null ? " on PATH" : $" in '{_binDirectory}'")}. " +
            "The Slurm provider needs the Slurm client commands on the controller (Debian/Ubuntu: apt-get install slurm-client).",
            program);
    }

    /// <summary>A start description of <paramref name="program"/> with this client's environment, all three streams redirected.</summary>
    public ProcessStartInfo StartInfo(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Locate(program))
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in _environment) start.Environment[name] = value;
        return start;
    }

    /// <summary>
    /// Runs a client command to its end and returns its exit code and output. Cancellation kills it. A command that
    /// runs past <paramref name="timeout"/> (30 s when null) is killed and reported as a scheduler failure, so a
    /// controller daemon that does not answer never hangs a cmdlet.
    /// </summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string program, IEnumerable<string> arguments, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var process = Process.Start(StartInfo(program, arguments))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ProvisioningException(ErrorKind.SchedulerFailed,
                $"'{program} {string.Join(' ', process.StartInfo.ArgumentList)}' did not answer within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0} s; is slurmctld running?",
                program);
        }
        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Runs a client command that must succeed and returns its standard output.</summary>
    /// <exception cref="ProvisioningException"><see cref="ErrorKind.SchedulerFailed"/> with the command's own message.</exception>
    public async Task<string> QueryAsync(string program, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var list = arguments.ToList();
        var (code, stdout, stderr) = await RunAsync(program, list, cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new ProvisioningException(ErrorKind.SchedulerFailed,
                $"'{program} {string.Join(' ', list)}' failed (exit code {code}): {FirstLines(stderr)}", program);
        }
        return stdout;
    }

    /// <summary>Asks a client process to stop the way Ctrl+C in a terminal would (SIGTERM; srun then cancels its step).</summary>
    internal static void Terminate(Process process)
    {
        try
        {
            if (!process.HasExited) _ = SendSignal(process.Id, 15);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Kills a client process (SIGKILL), ignoring one that is already gone.</summary>
    internal static void Kill(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>The first few non-empty lines of a client command's message, on one line.</summary>
    internal static string FirstLines(string text, int count = 3)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(count).ToArray();
        return lines.Length == 0 ? "(no message)" : string.Join(" ", lines);
    }
}
