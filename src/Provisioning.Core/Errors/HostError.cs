namespace Provisioning.Core.Errors;

/// <summary>A per-host failure carried on a result object, so one host's error never stops the others.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">A sentence that names the host and what failed.</param>
public sealed record HostError(ErrorKind Kind, string Message)
{
    /// <summary>
    /// The one reading of an exception as an error kind, for hosts and for the cmdlets' terminating errors alike:
    /// the engine's own kind for a <see cref="ProvisioningException"/>, Cancelled for cancellation, the obvious
    /// kind for a few .NET exceptions, Internal for anything else.
    /// </summary>
    public static ErrorKind KindOf(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate) exception = aggregate.InnerExceptions[0];
        return exception switch
        {
            ProvisioningException p => p.Kind,
            OperationCanceledException => ErrorKind.Cancelled,
            FileNotFoundException or DirectoryNotFoundException => ErrorKind.LocalPathNotFound,
            UnauthorizedAccessException => ErrorKind.PermissionDenied,
            _ => ErrorKind.Internal,
        };
    }

    /// <summary>The error a host gets when its work threw instead of returning a result.</summary>
    public static HostError FromException(string hostName, Exception exception) =>
        new(KindOf(exception), exception is OperationCanceledException ? $"{hostName}: the work was cancelled." : $"{hostName}: {exception.Message}");

    /// <inheritdoc />
    public override string ToString() => Message;
}
