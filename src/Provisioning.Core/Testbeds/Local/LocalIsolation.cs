namespace Provisioning.Core.Testbeds.Local;

/// <summary>How much of this machine a Local agent shares (<c>New-Testbed -Isolation</c>).</summary>
public enum LocalIsolation
{
    /// <summary>
    /// The agent shares this machine's root filesystem, processes and network; it has its own sshd, address,
    /// working directory and (as root) hostname and clean home.
    /// </summary>
    Shared,
    /// <summary>
    /// As root on Linux: the agent also has a private copy-on-write root filesystem (an overlay on this machine's
    /// <c>/</c>, with its own <c>/etc</c>, <c>/usr</c>, <c>/var</c>, <c>/opt</c>, <c>/srv</c>, <c>/tmp</c>, <c>/run</c>,
    /// <c>/proc</c>) and its own PID namespace, so packages, users, files and processes on one agent touch no other
    /// agent and not the controller.
    /// </summary>
    Private,
}

/// <summary>What network a Local agent is on (<c>New-Testbed -Network</c>).</summary>
public enum LocalNetwork
{
    /// <summary>This machine's network: the agents reach whatever this machine reaches.</summary>
    Host,
    /// <summary>
    /// One network namespace of the testbed's own, with only a loopback interface and no route out: agents reach
    /// each other at their addresses, and nothing else. The controller reaches them through a relay into it.
    /// </summary>
    Offline,
}
