using System.Management.Automation;
using System.Reflection;
using Provisioning.Core.Errors;

namespace Provisioning.Errors;

/// <summary>
/// Turns engine errors (<see cref="ProvisioningException"/>, per-host <see cref="HostError"/>, and the odd
/// .NET exception) into ErrorRecords with a stable id and an accurate category. Every cmdlet builds its
/// error records here, so ids stay consistent across the module (see about_Provisioning).
/// </summary>
[ErrorMapping(ErrorKind.Internal, "ProvisioningInternalError", ErrorCategory.NotSpecified,
    RecommendedAction = "This is a defect in the Provisioning module; please report it with the error's ScriptStackTrace and Exception.StackTrace.")]
[ErrorMapping(ErrorKind.TestbedFormat, "TestbedFileInvalid", ErrorCategory.InvalidData,
    RecommendedAction = "Fix the testbed file at the line and column given; see 'Get-Help about_Provisioning' for the format.")]
[ErrorMapping(ErrorKind.LocalPathNotFound, "LocalPathNotFound", ErrorCategory.ObjectNotFound)]
[ErrorMapping(ErrorKind.TestbedNotFound, "TestbedNotFound", ErrorCategory.ObjectNotFound,
    RecommendedAction = "Load a testbed first: New-Testbed -Path <file.yaml>, or New-Testbed -Provider Local -Count 4.")]
[ErrorMapping(ErrorKind.ProviderFailed, "TestbedProviderFailed", ErrorCategory.ResourceUnavailable)]
[ErrorMapping(ErrorKind.DependencyMissing, "OpenSshNotInstalled", ErrorCategory.NotInstalled,
    RecommendedAction = "Install OpenSSH: the client is in 'openssh-client', the server (sshd, for -Provider Local) in 'openssh-server'.")]
[ErrorMapping(ErrorKind.HostUnreachable, "AgentMachineUnreachable", ErrorCategory.ConnectionError,
    RecommendedAction = "Check the address, port and ProxyJump of the machine; Test-AgentMachine -Wait waits for hosts that are still booting.")]
[ErrorMapping(ErrorKind.HostKeyVerificationFailed, "AgentMachineHostKeyRejected", ErrorCategory.SecurityError,
    RecommendedAction = "Check the host key in known_hosts. Set trust_new_host_keys: true only for hosts you trust on first use.")]
[ErrorMapping(ErrorKind.AuthenticationFailed, "AgentMachineAuthenticationFailed", ErrorCategory.AuthenticationError,
    RecommendedAction = "Check user and identity_file in the testbed, and that the key is in the host's authorized_keys (BatchMode: no password prompts).")]
[ErrorMapping(ErrorKind.CommandFailed, "RemoteCommandFailed", ErrorCategory.InvalidResult)]
[ErrorMapping(ErrorKind.CommandTimedOut, "RemoteCommandTimedOut", ErrorCategory.OperationTimeout)]
[ErrorMapping(ErrorKind.Cancelled, "RemoteCommandCancelled", ErrorCategory.OperationStopped)]
[ErrorMapping(ErrorKind.TemplateVariableUndefined, "TemplateVariableUndefined", ErrorCategory.InvalidData,
    RecommendedAction = "Define the variable for the host (testbed vars, Set-AgentVariable) or pass it with -Variable.")]
[ErrorMapping(ErrorKind.TemplateSyntax, "TemplateSyntaxInvalid", ErrorCategory.ParserError)]
[ErrorMapping(ErrorKind.PatternInvalid, "HostPatternInvalid", ErrorCategory.InvalidArgument)]
[ErrorMapping(ErrorKind.RemotePathNotFound, "RemotePathNotFound", ErrorCategory.ObjectNotFound)]
[ErrorMapping(ErrorKind.PermissionDenied, "PermissionDenied", ErrorCategory.PermissionDenied)]
[ErrorMapping(ErrorKind.DiskFull, "DiskFull", ErrorCategory.WriteError)]
[ErrorMapping(ErrorKind.ConnectionLost, "AgentMachineConnectionLost", ErrorCategory.ConnectionError)]
[ErrorMapping(ErrorKind.ChecksumMismatch, "ChecksumMismatch", ErrorCategory.InvalidResult)]
[ErrorMapping(ErrorKind.PathOutsideAllowedTree, "PathOutsideAllowedTree", ErrorCategory.SecurityError)]
[ErrorMapping(ErrorKind.JournalFailed, "JournalUnavailable", ErrorCategory.ResourceUnavailable)]
[ErrorMapping(ErrorKind.RunNotFound, "ExperimentRunNotFound", ErrorCategory.ObjectNotFound)]
[ErrorMapping(ErrorKind.TransferFailed, "FileTransferFailed", ErrorCategory.WriteError)]
[ErrorMapping(ErrorKind.DestinationConflict, "DestinationConflict", ErrorCategory.ResourceExists,
    RecommendedAction = "Two machines with the same name (from different testbeds) would share a folder; fetch each testbed into its own destination.")]
[ErrorMapping(ErrorKind.ProcessAlreadyRunning, "AgentProcessAlreadyRunning", ErrorCategory.ResourceExists,
    RecommendedAction = "Stop it with Stop-AgentProcess, start it under another -Name, or use -Force to replace it.")]
[ErrorMapping(ErrorKind.ProcessNotFound, "AgentProcessNotFound", ErrorCategory.ObjectNotFound,
    RecommendedAction = "Get-AgentProcess lists the processes of each machine.")]
[ErrorMapping(ErrorKind.ProvisionFormat, "ProvisionFileInvalid", ErrorCategory.InvalidData,
    RecommendedAction = "Fix the provision document at the line and key the message gives; nothing ran.")]
[ErrorMapping(ErrorKind.ProvisionTaskFailed, "ProvisionTaskFailed", ErrorCategory.InvalidResult,
    RecommendedAction = "Read the task's message; fix the task or the machine, then rerun (Invoke-Provision -Resume reruns only the hosts that failed).")]
[ErrorMapping(ErrorKind.FactsUnavailable, "AgentFactUnavailable", ErrorCategory.ReadError,
    RecommendedAction = "Check that the machine has a POSIX shell and coreutils.")]
[ErrorMapping(ErrorKind.ProcessSpecInvalid, "AgentProcessSpecInvalid", ErrorCategory.InvalidArgument,
    RecommendedAction = "Names are letters, digits, '.', '_' and '-'; environment variable names are letters, digits and '_', not starting with a digit.")]
[ErrorMapping(ErrorKind.ProcessExited, "AgentProcessExited", ErrorCategory.InvalidResult,
    RecommendedAction = "Read its log with Receive-AgentProcessOutput -Stream Stderr.")]
[ErrorMapping(ErrorKind.PackageSpecInvalid, "AgentPackageSpecInvalid", ErrorCategory.InvalidArgument,
    RecommendedAction = "Give names as name, name=version (apt), name==version (pip) or name@version (npm); -Path takes .deb, .whl or .tgz files of one manager.")]
[ErrorMapping(ErrorKind.PackageNotFound, "AgentPackageNotFound", ErrorCategory.ObjectNotFound,
    RecommendedAction = "Check the name and the host's release; fill the cache with Save-AgentPackage while the controller is online, or give the agent a repository that has it.")]
[ErrorMapping(ErrorKind.PackageCacheHashMismatch, "PackageCacheHashMismatch", ErrorCategory.SecurityError,
    RecommendedAction = "The file was refused and nothing was installed. Delete the file from the cache and run Save-AgentPackage again.")]
[ErrorMapping(ErrorKind.PackageCacheInvalid, "PackageCacheInvalid", ErrorCategory.InvalidData,
    RecommendedAction = "Fix or delete the cache's manifest.json; Save-AgentPackage writes it anew.")]
[ErrorMapping(ErrorKind.PackageDatabaseLocked, "AgentPackageDatabaseLocked", ErrorCategory.ResourceBusy,
    RecommendedAction = "Another apt or dpkg runs on the machine (often unattended-upgrades); wait for it or raise -LockTimeoutSec.")]
[ErrorMapping(ErrorKind.PackageInstallFailed, "AgentPackageInstallFailed", ErrorCategory.InvalidResult,
    RecommendedAction = "Read the manager's message (a conflict, a failing maintainer script); fix the package or the machine and run again.")]
[ErrorMapping(ErrorKind.PackagePartiallyInstalled, "AgentPackagePartiallyInstalled", ErrorCategory.InvalidResult,
    RecommendedAction = "Some packages were installed and others were not; Get-AgentPackage shows the machine's state. Fix the cause and run again: what is installed is kept.")]
[ErrorMapping(ErrorKind.PackageManagerNotFound, "AgentPackageManagerNotFound", ErrorCategory.NotInstalled,
    RecommendedAction = "Install the manager first (for pip, set the machine's pip_executable variable to a virtual environment's pip).")]
[ErrorMapping(ErrorKind.TransportUnavailable, "AgentMachineTransportUnavailable", ErrorCategory.NotImplemented,
    RecommendedAction = "Use transport: auto (or openssh) for this host; Get-AgentMachine | Format-List Transport, TransportReason says why it was refused.")]
[ErrorMapping(ErrorKind.AllocationFailed, "TestbedAllocationFailed", ErrorCategory.ResourceUnavailable,
    RecommendedAction = "Ask for what the cluster has: sinfo lists its partitions and nodes; -JobId attaches to an allocation you already hold.")]
[ErrorMapping(ErrorKind.SchedulerClientMissing, "SlurmClientNotInstalled", ErrorCategory.NotInstalled,
    RecommendedAction = "Install the Slurm client commands on the controller (Debian/Ubuntu: apt-get install slurm-client) and make sure they reach the cluster (SLURM_CONF).")]
[ErrorMapping(ErrorKind.SchedulerFailed, "SlurmCommandFailed", ErrorCategory.ResourceUnavailable,
    RecommendedAction = "Check that the cluster answers: sinfo and squeue from this shell should work.")]
public static class ErrorRecordFactory
{
    private static readonly Dictionary<ErrorKind, ErrorMappingAttribute> Table =
        typeof(ErrorRecordFactory).GetCustomAttributes<ErrorMappingAttribute>().ToDictionary(a => a.Kind);

    /// <summary>The error id and category of <paramref name="kind"/> (the table above).</summary>
    public static (string ErrorId, ErrorCategory Category) Describe(ErrorKind kind)
    {
        var mapping = Mapping(kind);
        return (mapping.ErrorId, mapping.Category);
    }

    /// <summary>
    /// An ErrorRecord for any exception, of the kind the engine reads it as (<see cref="HostError.KindOf"/>);
    /// a <see cref="ProvisioningException"/> keeps its target.
    /// </summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="target">The target object when the exception carries none.</param>
    public static ErrorRecord FromException(Exception exception, object? target = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate) exception = aggregate.InnerExceptions[0];
        return Create(exception, HostError.KindOf(exception), (exception as ProvisioningException)?.Target ?? target);
    }

    /// <summary>The non-terminating error a host that failed gets, with the machine as its target.</summary>
    /// <param name="error">The host's error from its result object.</param>
    /// <param name="target">The machine (or whatever the result is about).</param>
    public static ErrorRecord FromHostError(HostError error, object target)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Create(new ProvisioningException(error.Kind, error.Message, target), error.Kind, target);
    }

    /// <summary>An error of the given kind with a message, for conditions the cmdlet itself detects.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="message">A sentence naming what failed.</param>
    /// <param name="target">What it is about.</param>
    public static ErrorRecord Create(ErrorKind kind, string message, object? target) =>
        Create(new ProvisioningException(kind, message, target), kind, target);

    /// <summary>A bad parameter value that no engine kind describes (for example a -Role table with a non-number).</summary>
    /// <param name="errorId">The id, <c>&lt;Noun&gt;&lt;Condition&gt;</c>.</param>
    /// <param name="message">What is wrong with the value.</param>
    /// <param name="target">The value.</param>
    public static ErrorRecord InvalidArgument(string errorId, string message, object? target) =>
        new(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, target);

    private static ErrorRecord Create(Exception exception, ErrorKind kind, object? target)
    {
        var mapping = Mapping(kind);
        var record = new ErrorRecord(exception, mapping.ErrorId, mapping.Category, target);
        if (mapping.RecommendedAction is not null)
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = mapping.RecommendedAction };
        return record;
    }

    // A kind added to the engine without a row above still produces an error (a test catches the gap).
    private static ErrorMappingAttribute Mapping(ErrorKind kind) =>
        Table.TryGetValue(kind, out var mapping) ? mapping : Table[ErrorKind.Internal];
}
