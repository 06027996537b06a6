using System.Runtime.Versioning;
using System.Diagnostics;

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
    private LoopbackReservation? _reservation;
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
    /// <summary>The agents, in order (filled while starting).</summary>
    public List<LocalAgent> Agents { get; } = new();
    /// <summary>True when agents run in their own UTS and mount namespaces (own hostname, clean home).</summary>
    public bool Isolated { get; set; }
    /// <summary>Files and folders deleted on stop (the state folder itself when the provider created it).</summary>
    public IReadOnlyList<string> OwnedPaths => _ownedPaths;
    /// <summary>The crash guard, once armed (tests).</summary>
    internal CrashGuard? Guard => _guard;
    /// <summary>True once stopped.</summary>
    public bool IsStopped { get { lock (_gate) return _stopped; } }

    /// <summary>Marks a file or folder for deletion on stop.</summary>
    public void Own(string path) => _ownedPaths.Add(path);

    /// <summary>Takes ownership of the loopback reservation (released on stop).</summary>
    public void Hold(LoopbackReservation reservation) => _reservation = reservation;

    /// <summary>Arms the crash guard over the agents started so far.</summary>
    public void ArmCrashGuard() =>
        _guard = CrashGuard.Start(Agents.Where(a => a.ProcessId is not null).Select(a => a.ProcessId!.Value).ToArray(), StateDirectory, _ownedPaths);

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
    /// Kills one agent at once, sessions included, as if the machine died (fault tests). Its address stays
    /// reserved and its files stay until the testbed is removed.
    /// </summary>
    public void Kill(LocalAgent agent)
    {
        if (agent.ProcessId is not { } pid) return;
        var pids = LinuxProcesses.DescendantsOf([pid]).Append(pid).ToArray();
        LinuxProcesses.Signal(pids, "KILL");
        WaitGone(pids, KillGrace);
    }

    private static void StopAgents(IEnumerable<LocalAgent> agents)
    {
        var listeners = agents.Where(a => a.ProcessId is not null).Select(a => a.ProcessId!.Value).ToArray();
        // Per-connection sshd processes and the commands they run would outlive their listener: stop them too.
        var all = LinuxProcesses.DescendantsOf(listeners).Concat(listeners).Where(LinuxProcesses.IsRunning).ToArray();
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
