namespace Provisioning.Core.Execution;

/// <summary>
/// How one host's part of an operation ended. Every capability (commands, pushes, fetches, checks) uses the
/// same values with the same meaning, so the same unreachable host reads the same whatever was asked of it.
/// Whether the host was changed is a separate flag on the results of capabilities that change machines.
/// </summary>
public enum HostStatus
{
    /// <summary>The host did what was asked (a command exited 0, a file is in place, the host answered).</summary>
    Succeeded,
    /// <summary>The host was reached but the work failed there (non-zero exit, a refused write, nothing matched).</summary>
    Failed,
    /// <summary>The host's work ran past its timeout and was killed.</summary>
    TimedOut,
    /// <summary>The host could not be reached, refused us, or the connection dropped while it worked.</summary>
    Unreachable,
    /// <summary>Stopped by Ctrl+C (or the caller's cancellation) before it finished.</summary>
    Cancelled,
    /// <summary>Not run: a template could not be rendered for this host.</summary>
    TemplateError,
}
