namespace Provisioning.Core.RemoteCommands;

/// <summary>What <see cref="RemoteCommandRunner"/> runs on each host.</summary>
public sealed class RemoteCommandSpec
{
    /// <summary>Command template (POSIX shell, <c>{{ }}</c> placeholders). Exactly one of this and <see cref="Script"/>.</summary>
    public string? Command { get; init; }
    /// <summary>Script text (from -ScriptPath), sent over stdin; rendered as a template too.</summary>
    public string? Script { get; init; }
    /// <summary>A label for the script in results and the journal (its path).</summary>
    public string? ScriptName { get; init; }
    /// <summary>Extra template variables (-Variable); values may be objects or AgentMachines.</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }
    /// <summary>Hosts in flight at once.</summary>
    public int ThrottleLimit { get; init; } = Execution.FanOut.DefaultThrottleLimit;
    /// <summary>Per-host timeout; null means none.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Run through sudo -n.</summary>
    public bool Sudo { get; init; }
}
