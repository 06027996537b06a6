using System.Diagnostics;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// Owns everything a Local testbed started and created: the sshd processes, the crash guard, the loopback
/// reservation and the state files. Stopping is idempotent and also runs when the process exits without
/// removing the testbed (AppDomain.ProcessExit); the crash guard covers deaths that skip even that.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LocalTestbedLifetime : ITestbedLifetime
{
    private static readonly TimeSpan TermGrace = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(2);

    private readonly object _gate = new();
    private readonly List<string> _ownedPaths = new();
    private readonly List<LocalAgent> _agents = new();
    private LoopbackReservation? _reservation;
    private OfflineNetwork? _network;
    private CrashGuard? _guard;
    private bool _stopped;

    /// <summary>Starts tracking a testbed whose files live in <paramref name="stateDirectory"/>.</summary>
    public LocalTestbedLifetime(string stateDirectory)
    {
        StateDirectory = stateDirectory;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>The testbed's state folder.</summary>
    public string StateDirectory { get; }
    /// <summary>The agents started so far, in order.</summary>
    public IReadOnlyList<LocalAgent> Agents { get { lock (_gate) return _agents.ToArray(); } }
    /// <summary>True when agents run in their own UTS and mount namespaces (own hostname, clean home).</summary>
    public bool Isolated { get; set; }
    /// <summary>Files and folders deleted on stop (the state folder itself when the provider created it).</summary>
    public IReadOnlyList<string> OwnedPaths => _ownedPaths;
    /// <summary>The crash guard, once armed (tests).</summary>
    internal CrashGuard? Guard => _guard;
    /// <summary>True once stopped.</summary>
    public bool IsStopped { get { lock (_gate) return _stopped; } }

    /// <summary>
    /// Records a started sshd. If the testbed was stopped meanwhile (the process is exiting), the new sshd is
    /// killed at once rather than leaked.
    /// </summary>
    public void Started(LocalAgent agent, Process process)
    {
        agent.Process = process;
        agent.ProcessId = process.Id;
        lock (_gate)
        {
            if (!_stopped)
            {
                _agents.Add(agent);
                return;
            }
        }
        StopAgents([agent]);
        throw new OperationCanceledException("The Local testbed was stopped while its agents were starting.");
    }

    /// <summary>Marks a file or folder for deletion on stop.</summary>
    public void Own(string path) => _ownedPaths.Add(path);

    /// <summary>Takes ownership of the offline network (its holder is stopped after the agents).</summary>
    public void Hold(OfflineNetwork network) => _network = network;

    /// <summary>What the agents share with this machine.</summary>
    public LocalIsolation Isolation { get; set; }

    /// <summary>The testbed's offline network, or null when the agents use this machine's.</summary>
    public OfflineNetwork? Network => _network;

    /// <summary>Takes ownership of the loopback reservation (released on stop).</summary>
    public void Hold(LoopbackReservation reservation) => _reservation = reservation;

    /// <summary>Arms the crash guard over the agents started so far.</summary>
    public void ArmCrashGuard() =>
        _guard = CrashGuard.Start(Agents.Select(a => a.ProcessId!.Value).Concat(_network is null ? [] : [_network.Holder.Id]).ToArray(),
            StateDirectory, _ownedPaths);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.Run(Stop, CancellationToken.None);

    /// <summary>
    /// Stops every sshd (TERM, then KILL after a bounded wait) with its sessions and their processes, deletes
    /// the owned state and releases the addresses. Never throws for things already gone.
    /// </summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        try
        {
            StopAgents(Agents);
            StopNetwork();
            DeleteOwnedPaths();
        }
        finally
        {
            _guard?.Disarm();
            _guard?.Dispose();
            _reservation?.Dispose();
        }
    }

    /// <summary>
    /// Kills one agent at once, its sessions and their commands included, as if the machine died (fault
    /// tests). Its address stays reserved and its files stay until the testbed is removed.
    /// </summary>
    public void Kill(string agentName)
    {
        var agent = Agents.FirstOrDefault(a => string.Equals(a.Name, agentName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"This Local testbed has no agent named '{agentName}'.", nameof(agentName));
        var pids = LiveTrees([agent]);
        LinuxProcesses.Signal(pids, "KILL");
        WaitGone(pids, KillGrace);
    }

    private void StopNetwork()
    {
        if (_network is not { } network) return;
        var holder = network.Holder;
        if (!holder.HasExited)
        {
            var pids = LinuxProcesses.DescendantsOf([holder.Id]).Append(holder.Id).Where(LinuxProcesses.IsRunning).ToArray();
            LinuxProcesses.Signal(pids, "KILL");
            WaitGone(pids, KillGrace);
        }
        holder.Dispose();
    }

    private static void StopAgents(IReadOnlyCollection<LocalAgent> agents)
    {
        var all = LiveTrees(agents);
        LinuxProcesses.Signal(all, "TERM");
        var left = WaitGone(all, TermGrace);
        if (left.Count > 0)
        {
            LinuxProcesses.Signal(left, "KILL");
            WaitGone(left, KillGrace);
        }
        foreach (var agent in agents)
        {
            agent.Process?.Dispose();
            agent.Process = null;
        }
    }

    // The listeners still running and everything below them: per-connection sshd processes and the commands
    // they run would outlive their listener. A listener that already exited is skipped, because it was our
    // child and has been reaped, so its pid may now belong to an unrelated process.
    private static int[] LiveTrees(IEnumerable<LocalAgent> agents)
    {
        var listeners = agents.Where(a => a.Process is { HasExited: false }).Select(a => a.ProcessId!.Value).ToArray();
        return LinuxProcesses.DescendantsOf(listeners).Concat(listeners).Where(LinuxProcesses.IsRunning).ToArray();
    }

    // Polls /proc rather than waiting for exit codes: zombies count as gone (see LinuxProcesses.IsRunning).
    private static IReadOnlyCollection<int> WaitGone(IReadOnlyCollection<int> pids, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var left = pids.ToList();
        while (true)
        {
            left.RemoveAll(p => !LinuxProcesses.IsRunning(p));
            if (left.Count == 0 || clock.Elapsed > timeout) return left;
            Thread.Sleep(10);
        }
    }

    private void DeleteOwnedPaths()
    {
        foreach (var path in _ownedPaths.AsEnumerable().Reverse())
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                    else File.Delete(path);
                    break;
                }
                catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && attempt < 3)
                {
                    // A process that just died may still be closing a file in it; try again shortly.
                    Thread.Sleep(50);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    break;
                }
            }
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => Stop();
}
