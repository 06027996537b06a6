namespace Provisioning.Core.Transport;

/// <summary>Which SSH client reaches a host (<c>transport:</c> in a testbed file, <c>-Transport</c> on New-Testbed).</summary>
public enum TransportKind
{
    /// <summary>SSH.NET where it can serve the host as OpenSSH would; OpenSSH otherwise.</summary>
    Auto,
    /// <summary>The in-process SSH.NET client, with a persistent remote shell per connection.</summary>
    SshNet,
    /// <summary>The system OpenSSH client over ControlMaster connections.</summary>
    OpenSsh,
    /// <summary>Slurm job steps (<c>srun</c>) inside the testbed's allocation; chosen by the Slurm provider, never in a file.</summary>
    Slurm,
}

/// <summary>The transport a host was given, and why.</summary>
/// <param name="Kind">SshNet, OpenSsh or Slurm (never Auto).</param>
/// <param name="Reason">Why: what the testbed asked for, or what made <c>auto</c> choose.</param>
public sealed record TransportChoice(TransportKind Kind, string Reason);
