namespace Provisioning.Core.Errors;

/// <summary>A per-host failure carried on a result object, so one host's error never stops the others.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">A sentence that names the host and what failed.</param>
public sealed record HostError(ErrorKind Kind, string Message)
{
    /// <summary>
    /// The error a host gets when its work threw instead of returning a result: the engine's own kind for a
    /// <see cref="ProvisioningException"/>, Cancelled for cancellation, Internal for anything else.
    /// </summary>
    public static HostError FromException(string hostName, Exception exception)
    {
        var kind = exception switch
        {
            ProvisioningException p => p.Kind,
            OperationCanceledException => ErrorKind.Cancelled,
            _ => ErrorKind.Internal,
        };
        return new HostError(kind, $"{hostName}: {exception.Message}");
    }

    /// <inheritdoc />
    public override string ToString() => Message;
}
