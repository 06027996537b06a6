namespace Provisioning.Core.Errors;

/// <summary>
/// What went wrong, independent of PowerShell. The cmdlet layer maps each kind to an error id
/// (<c>&lt;Noun&gt;&lt;Condition&gt;</c>) and an <c>ErrorCategory</c> in one place.
/// </summary>
public enum ErrorKind
{
    /// <summary>An unexpected failure inside the engine.</summary>
    Internal = 0,
    /// <summary>The testbed file is not valid YAML or breaks the testbed schema.</summary>
    TestbedFormat,
    /// <summary>A file or directory given on the controller does not exist.</summary>
    LocalPathNotFound,
    /// <summary>No testbed is loaded, or the named one does not exist.</summary>
    TestbedNotFound,
    /// <summary>A provider (Local) could not start or stop its agents.</summary>
    ProviderFailed,
    /// <summary>A required program is missing: sshd or ssh on the controller, tar or sha256sum on a host.</summary>
    DependencyMissing,
    /// <summary>The host could not be reached (DNS, refused, timeout, jump host).</summary>
    HostUnreachable,
    /// <summary>The host's key is unknown or does not match known_hosts.</summary>
    HostKeyVerificationFailed,
    /// <summary>The host refused our credentials.</summary>
    AuthenticationFailed,
    /// <summary>The remote command exited with a non-zero status.</summary>
    CommandFailed,
    /// <summary>The remote command ran past its timeout and was killed.</summary>
    CommandTimedOut,
    /// <summary>The work was cancelled (Ctrl+C) before the host finished.</summary>
    Cancelled,
    /// <summary>A template names a variable that the host does not define.</summary>
    TemplateVariableUndefined,
    /// <summary>A template is not well formed.</summary>
    TemplateSyntax,
    /// <summary>A host pattern is not well formed.</summary>
    PatternInvalid,
    /// <summary>A remote file or glob matched nothing.</summary>
    RemotePathNotFound,
    /// <summary>Permission was denied on the remote host or the controller.</summary>
    PermissionDenied,
    /// <summary>The remote (or local) disk is full.</summary>
    DiskFull,
    /// <summary>The connection dropped in the middle of a transfer or command.</summary>
    ConnectionLost,
    /// <summary>A checksum did not match after a transfer.</summary>
    ChecksumMismatch,
    /// <summary>A path would escape the tree it must stay in (for example <c>..</c> in a host name).</summary>
    PathOutsideAllowedTree,
    /// <summary>The run journal could not be read or written.</summary>
    JournalFailed,
    /// <summary>A journal run or record does not exist.</summary>
    RunNotFound,
    /// <summary>A file transfer failed on the host for a reason without a kind of its own (the message quotes the host).</summary>
    TransferFailed,
    /// <summary>Two hosts would write to the same local folder (for example same-named hosts of two testbeds).</summary>
    DestinationConflict,
    /// <summary>An experiment process of that name already runs on the host.</summary>
    ProcessAlreadyRunning,
    /// <summary>The host has no experiment process of that name.</summary>
    ProcessNotFound,
    /// <summary>An experiment process ended at once with a non-zero code instead of running.</summary>
    ProcessExited,
    /// <summary>A process's name or an environment variable name that cannot be used on a host.</summary>
    ProcessSpecInvalid,
    /// <summary>A provision document (or -Task table) is not valid: it names the file, line, column and key.</summary>
    ProvisionFormat,
    /// <summary>A provisioning task failed on a host (the message names the host, step, task and document line).</summary>
    ProvisionTaskFailed,
    /// <summary>Facts could not be gathered from a host.</summary>
    FactsUnavailable,
    /// <summary>A package name, version or file that cannot be used.</summary>
    PackageSpecInvalid,
    /// <summary>No source has the package: not the host's repositories, not the controller's cache, not a download.</summary>
    PackageNotFound,
    /// <summary>A package file's content does not match the SHA-256 the host's package lists (or the cache manifest) give; it was refused.</summary>
    PackageCacheHashMismatch,
    /// <summary>The package cache's manifest cannot be read.</summary>
    PackageCacheInvalid,
    /// <summary>Another apt or dpkg held the host's package database for longer than the lock timeout.</summary>
    PackageDatabaseLocked,
    /// <summary>The package manager failed to install or remove a package (a conflict, a maintainer script); the message is the manager's.</summary>
    PackageInstallFailed,
    /// <summary>Some of the packages asked for were installed and others were not (or are left half-configured).</summary>
    PackagePartiallyInstalled,
    /// <summary>The host lacks the package manager asked for (apt-get, pip, npm).</summary>
    PackageManagerNotFound,
    /// <summary>The transport the testbed asked for cannot serve the host (for SSH.NET: a ProxyCommand, a key behind a passphrase or an agent).</summary>
    TransportUnavailable,
    /// <summary>The scheduler cannot give the testbed its nodes: it refused the request (more nodes than exist, a bad partition or account) or the job ended.</summary>
    AllocationFailed,
    /// <summary>A Slurm client command (salloc, srun, squeue, scontrol, scancel) is not installed on the controller.</summary>
    SchedulerClientMissing,
    /// <summary>A Slurm client command failed or the scheduler did not answer.</summary>
    SchedulerFailed,
}
