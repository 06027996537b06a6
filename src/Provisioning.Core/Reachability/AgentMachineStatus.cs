using Provisioning.Core.Execution;

namespace Provisioning.Core.Reachability;

/// <summary>Whether one machine answered over SSH, and how fast (what <c>Test-AgentMachine</c> returns).</summary>
public sealed record AgentMachineStatus : HostOutcome
{
    /// <summary>The address that was tried.</summary>
    public string Address => Machine.Address;
    /// <summary>True when the host answered and authenticated us (<see cref="HostOutcome.Status"/> is Succeeded).</summary>
    public bool Reachable => Succeeded;
    /// <summary>Round trip of a no-op command over the open connection; null when unreachable.</summary>
    public TimeSpan? Latency { get; init; }
    /// <summary>Time to open the connection (zero when a master connection was already open).</summary>
    public TimeSpan ConnectTime { get; init; }
    /// <summary>How many times the host was tried (more than one only with waiting).</summary>
    public int Attempts { get; init; } = 1;
    /// <summary>When the reported check finished.</summary>
    public DateTimeOffset CheckedAt { get; init; } = DateTimeOffset.Now;

    /// <inheritdoc />
    public override string ToString() =>
        Reachable ? $"{Name}: reachable ({Latency?.TotalMilliseconds:0.#} ms)" : $"{Name}: unreachable";
}
