using Provisioning.Core.Errors;
using Provisioning.Core.Journal;

namespace Provisioning.Core.Testbeds.Slurm;

/// <summary>
/// The allocation behind a Slurm testbed. Removing the testbed releases an allocation it made (<c>scancel</c>, then a
/// wait until <c>squeue</c> no longer lists it), and a crash guard does the same if this process dies first; an
/// allocation the testbed attached to (<c>-JobId</c>) is left to its owner, and only this testbed's steps are cancelled.
/// The journal records the allocation and its release.
/// </summary>
internal sealed class SlurmAllocation : ITestbedLifetime
{
    // Run by the crash guard when this process dies: release the allocation, or, when it is not ours, cancel only the
    // steps this testbed started (named by --job-name).
    private const string OnOwnerDeath = """
        job=$1; owned=$2; name=$3
        if [ "$owned" = 1 ]; then exec scancel "$job"; fi
        for s in $(squeue --noheader --steps --jobs "$job" --format '%i|%j' 2>/dev/null | awk -F'|' -v n="$name" '$2 == n { print $1 }'); do
            scancel --quiet "$s"
        done
        """;

    private readonly SlurmClient _client;
    private readonly string _jobId;
    private readonly bool _owned;
    private readonly string _stepName;
    private readonly string _journalPath;
    private readonly CrashGuard? _guard;

    private SlurmAllocation(SlurmClient client, string jobId, bool owned, string stepName, string journalPath, CrashGuard? guard)
    {
        _client = client;
        _jobId = jobId;
        _owned = owned;
        _stepName = stepName;
        _journalPath = journalPath;
        _guard = guard;
    }

    /// <summary>Arms the crash guard and records the allocation in the journal.</summary>
    public static SlurmAllocation Hold(SlurmClient client, string jobId, bool owned, string stepName, string journalPath, string testbed, int nodes)
    {
        var environment = new Dictionary<string, string>(client.Environment, StringComparer.Ordinal);
        var scancel = client.Locate("scancel");
        environment["PATH"] = Path.GetDirectoryName(scancel) + ":" + (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin");
        var guard = !OperatingSystem.IsLinux() ? null : CrashGuard.RunOnOwnerDeath(OnOwnerDeath, [jobId, owned ? "1" : "0", stepName], environment);
        var allocation = new SlurmAllocation(client, jobId, owned, stepName, journalPath, guard);
        allocation.Journal(j => j.RecordAllocation(testbed, SlurmProvider.ProviderName, jobId, nodes, owned));
        return allocation;
    }

    /// <summary>Closes the crash guard's pipe without disarming it, as this process's death would (tests).</summary>
    internal bool SimulateOwnerDeath()
    {
        if (!OperatingSystem.IsLinux() || _guard is null) return false;
        _guard.SimulateOwnerDeath();
        return _guard.WaitForExit(TimeSpan.FromSeconds(30));
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsLinux() && _guard is not null)
        {
            _guard.Disarm();
            _guard.Dispose();
        }
        if (!_owned)
        {
            await CancelOwnStepsAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await SlurmProvider.CancelQuietlyAsync(_client, _jobId).ConfigureAwait(false);
        // scancel returns before the job has left the queue; wait a little so "removed" means gone from squeue.
        for (var i = 0; i < 50; i++)
        {
            var (code, stdout, _) = await _client.RunAsync("squeue", ["--noheader", "--jobs", _jobId, "--format", "%T"], cancellationToken).ConfigureAwait(false);
            if (code != 0 || stdout.Trim().Length == 0) break;
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
        Journal(j => j.RecordRelease(_jobId));
    }

    private async Task CancelOwnStepsAsync(CancellationToken cancellationToken)
    {
        var (code, stdout, _) = await _client.RunAsync("squeue", ["--noheader", "--steps", "--jobs", _jobId, "--format", "%i|%j"], cancellationToken).ConfigureAwait(false);
        if (code != 0) return;
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length == 2 && f[1] == _stepName) await _client.RunAsync("scancel", ["--quiet", f[0]], cancellationToken).ConfigureAwait(false);
        }
    }

    private void Journal(Action<RunJournal> write)
    {
        try
        {
            using var journal = RunJournal.Open(_journalPath);
            write(journal);
        }
        catch (ProvisioningException)
        {
            // The allocation itself matters more than its journal line; the journal's own errors show on the next run.
        }
    }
}
