using Provisioning.Core.Execution;

namespace Provisioning.Core.Reachability;

/// <summary>Options of <see cref="ReachabilityProbe.Run"/>.</summary>
public sealed class ReachabilityOptions
{
    /// <summary>Hosts checked at once.</summary>
    public int ThrottleLimit { get; init; } = FanOut.DefaultThrottleLimit;

    /// <summary>
    /// Keep polling the hosts that fail until every host answers or <see cref="Timeout"/> passes
    /// (EnOSlib's <c>wait_ssh</c>). Without it each host is checked once.
    /// </summary>
    public bool Wait { get; init; }

    /// <summary>
    /// Without <see cref="Wait"/>: the longest one check may take. With it: how long to keep polling in total.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Pause between two polling rounds of the hosts still failing.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
}
