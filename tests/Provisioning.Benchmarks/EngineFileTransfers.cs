using Provisioning.Core.Execution;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;

namespace Provisioning.Benchmarks;

/// <summary>
/// The engine halves of the copy and fetch suites (issue 3): the same engine calls Send-AgentFile and
/// Get-ExperimentResult make, without a journal recorder (the peers keep none). A failed host fails the run.
/// </summary>
internal static class EngineFileTransfers
{
    /// <summary>
    /// Push <paramref name="localFile"/> to <paramref name="remotePath"/> on every machine at once
    /// (Send-AgentFile -Path localFile -Destination remotePath -ThrottleLimit machines.Count).
    /// </summary>
    public static async Task PushAsync(IReadOnlyList<AgentMachine> machines, string localFile, string remotePath, CancellationToken ct)
    {
        var spec = new FileSendSpec { Path = localFile, Destination = remotePath, ThrottleLimit = machines.Count };
        var failures = new List<string>();
        await foreach (var result in new AgentFileSender().Operation(spec).Stream(machines, null, ct).ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (!result.Succeeded) failures.Add(result.Error?.Message ?? result.ToString());
            else if (!result.Changed) failures.Add($"{result.Machine.Name}: reported unchanged, so nothing was sent (state not wiped?)");
        }
        if (failures.Count > 0) throw new VerificationException(string.Join("; ", failures.Take(3)));
    }

    /// <summary>
    /// Fetch every file of <paramref name="remoteDirectory"/> from every machine into
    /// <c>localDirectory/&lt;machine name&gt;/...</c> (Get-ExperimentResult -Path 'remoteDirectory/*' -Destination localDirectory).
    /// </summary>
    public static async Task FetchAsync(IReadOnlyList<AgentMachine> machines, string remoteDirectory, string localDirectory, CancellationToken ct)
    {
        var spec = new FileFetchSpec { Path = remoteDirectory.TrimEnd('/') + "/*", Destination = localDirectory, ThrottleLimit = machines.Count };
        var failures = new List<string>();
        await foreach (var result in new AgentFileFetcher().Operation(spec).Stream(machines, null, ct).ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (!result.Succeeded) failures.Add(result.Error?.Message ?? result.ToString());
        }
        if (failures.Count > 0) throw new VerificationException(string.Join("; ", failures.Take(3)));
    }
}
