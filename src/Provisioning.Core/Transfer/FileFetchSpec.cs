namespace Provisioning.Core.Transfer;

/// <summary>What <see cref="AgentFileFetcher"/> brings home from each host.</summary>
public sealed class FileFetchSpec
{
    /// <summary>
    /// Remote path or shell glob template, rendered per host and expanded by the host's shell. A matching
    /// directory brings its whole tree. Relative paths are relative to the host's working directory.
    /// </summary>
    public required string Path { get; init; }

    /// <summary>
    /// Local folder; each host's files go to <c>Destination/&lt;host name&gt;/&lt;remote path made relative&gt;</c>.
    /// Created when missing. Resolved against the process's current directory when relative.
    /// </summary>
    public required string Destination { get; init; }

    /// <summary>Extra template variables (-Variable) for <see cref="Path"/>.</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }

    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; init; } = Execution.FanOut.DefaultThrottleLimit;

    /// <summary>Limit of each host's transfer; null means none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Read the files through <c>sudo -n</c> on the host.</summary>
    public bool Sudo { get; init; }
}
