namespace Provisioning.Core.Errors;

/// <summary>A per-host failure carried on a result object, so one host's error never stops the others.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">A sentence that names the host and what failed.</param>
public sealed record HostError(ErrorKind Kind, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Message;
}
