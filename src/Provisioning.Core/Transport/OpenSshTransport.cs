using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transport;

/// <summary>
/// <see cref="ISshTransport"/> over the system OpenSSH client: one ControlMaster connection per host,
/// BatchMode, strict host keys unless the testbed trusts new ones, commands sent on stdin.
/// </summary>
public sealed class OpenSshTransport : ISshTransport
{
    private readonly OpenSshOptions _options;

    /// <summary>Creates a transport; no process starts until the first call.</summary>
    public OpenSshTransport(OpenSshOptions options) => _options = options;

    /// <summary>The settings this transport runs with.</summary>
    public OpenSshOptions Options => _options;

    /// <inheritdoc />
    public Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken) => throw new NotImplementedException();
    /// <inheritdoc />
    public Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken) => throw new NotImplementedException();
    /// <inheritdoc />
    public Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken) => Task.CompletedTask;
    /// <inheritdoc />
    public Task CloseAllAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(CloseAllAsync(CancellationToken.None));
}
