namespace Provisioning.Core.Transfer;

/// <summary>What <see cref="AgentFileSender"/> sends to each host.</summary>
public sealed class FileSendSpec
{
    /// <summary>
    /// A local file, a directory (its files are sent, keeping their relative paths) or a glob (<c>*</c>, <c>**</c>;
    /// files keep their path relative to the part of the pattern before the first wildcard). Resolved against the
    /// process's current directory when relative, so callers pass a full path.
    /// </summary>
    public required string Path { get; init; }

    /// <summary>
    /// Remote destination template, rendered per host. For one file: the file's remote path, or the directory it
    /// goes into when the path ends with <c>/</c> or is an existing directory on the host. For a directory or a
    /// glob: the remote directory the files go under. Relative paths are relative to the host's working directory.
    /// </summary>
    public required string Destination { get; init; }

    /// <summary>Render each file's content per host as a template before sending it.</summary>
    public bool Template { get; init; }

    /// <summary>
    /// Permission bits of the remote files (for example 0644). Null: the source file's permission bits, less the
    /// remote umask. A file whose content matches but whose mode differs is sent again.
    /// </summary>
    public UnixFileMode? Mode { get; init; }

    /// <summary>Extra template variables (-Variable), for the destination and for <see cref="Template"/> content.</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }

    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; init; } = Execution.FanOut.DefaultThrottleLimit;

    /// <summary>Limit of each remote round trip; null means none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Write the files through <c>sudo -n</c> on the host.</summary>
    public bool Sudo { get; init; }
}
