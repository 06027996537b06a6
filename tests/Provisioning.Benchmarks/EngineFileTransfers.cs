using Provisioning.Core.Testbeds;

namespace Provisioning.Benchmarks;

/// <summary>
/// Hooks for the engine halves of the copy and fetch suites (issue 3). The engine's file transfer does not exist
/// yet; each hook throws NotImplementedException, which the report shows as n/a. When it lands, call it here the
/// way the cmdlet does, drain its results, and throw <see cref="VerificationException"/> for any host that failed;
/// the suites already check the files on every host.
/// </summary>
internal static class EngineFileTransfers
{
    /// <summary>
    /// Push <paramref name="localFile"/> to <paramref name="remotePath"/> on every machine at once
    /// (Send-AgentFile -Path localFile -Destination remotePath -ThrottleLimit machines.Count).
    /// </summary>
    public static Task PushAsync(IReadOnlyList<AgentMachine> machines, string localFile, string remotePath, CancellationToken ct) =>
        // TODO(issue 3): when Provisioning.Core.Transfer.AgentFileSender lands, run
        //   new FileSendSpec { Path = localFile, Destination = remotePath, ThrottleLimit = machines.Count }
        // on machines, drain its FileSendResult channel, and throw VerificationException for any failed host.
        throw new NotImplementedException("engine file push (Send-AgentFile) is not implemented yet");

    /// <summary>
    /// Fetch every file of <paramref name="remoteDirectory"/> from every machine into
    /// <c>localDirectory/&lt;machine name&gt;/...</c> (Get-ExperimentResult -Path 'remoteDirectory/*' -Destination localDirectory).
    /// </summary>
    public static Task FetchAsync(IReadOnlyList<AgentMachine> machines, string remoteDirectory, string localDirectory, CancellationToken ct) =>
        // TODO(issue 3): when Provisioning.Core.Transfer.AgentFileFetcher lands, run
        //   new FileFetchSpec { Path = remoteDirectory, Destination = localDirectory, ThrottleLimit = machines.Count }
        // on machines (files land in localDirectory/<host>/...), drain its results, and throw
        // VerificationException for any failed host. Time it without a journal recorder, as the peers keep none.
        throw new NotImplementedException("engine fetch (Get-ExperimentResult) is not implemented yet");
}
