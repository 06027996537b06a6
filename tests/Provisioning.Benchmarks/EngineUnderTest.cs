using System.Diagnostics;
using Provisioning.Core.Execution;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Benchmarks;

/// <summary>
/// The engine exactly as Invoke-RemoteCommand drives it: a <see cref="RemoteCommandRunner"/> over the testbed's
/// own transport, its result channel drained to the end.
/// </summary>
internal sealed class EngineUnderTest(Testbed testbed)
{
    private readonly RemoteCommandRunner _runner = new();

    /// <summary>The testbed whose agents every suite uses.</summary>
    public Testbed Testbed { get; } = testbed;

    /// <summary>The ControlMaster socket folder, when the transport is OpenSSH (to find the masters' processes).</summary>
    public string? ControlDirectory => (Testbed.Transport as TransportRouter)?.OpenSsh?.Options.ControlDirectory;

    /// <summary>
    /// Extra ssh options the transport runs with (a provider's KexAlgorithms choice, for example). The peers get the
    /// same ones so that every tool pays the same cryptography.
    /// </summary>
    public IReadOnlyList<string> ExtraSshOptions =>
        (Testbed.Transport as TransportRouter)?.OpenSsh?.Options.ExtraOptions ?? Array.Empty<string>();

    /// <summary>
    /// The ssh_config the engine's ssh reads: the transport's own file (ssh -F), or the user's ~/.ssh/config when the
    /// transport has none and it exists. The peers include it too, so they get the same settings.
    /// </summary>
    public string? SshConfigFile
    {
        get
        {
            if (Testbed.Transport is TransportRouter { OpenSsh.Options.ConfigFile: { } file }) return file;
            var user = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "config");
            return File.Exists(user) ? user : null;
        }
    }

    /// <summary>
    /// The same agents pinned to the OpenSSH transport, in a testbed view of their own (own ControlMaster folder), so
    /// both transports are measured in one run.
    /// </summary>
    public EngineUnderTest OnOpenSsh()
    {
        var openSsh = (Testbed.Transport as TransportRouter)?.OpenSsh.Options;
        var machines = Testbed.Machines.Select(m => new AgentMachine(m.Name, m.Address, m.Index, m.Roles, m.Connection with { Transport = TransportKind.OpenSsh })).ToArray();
        var transport = new TransportRouter(new OpenSshTransport(new OpenSshOptions
        {
            ConfigFile = openSsh?.ConfigFile,
            ControlDirectory = (openSsh?.ControlDirectory ?? OpenSshOptions.DefaultControlDirectory("bench")) + "-o",
            ExtraOptions = openSsh?.ExtraOptions ?? Array.Empty<string>(),
        }), new TransportRouterOptions { Override = TransportKind.OpenSsh, ReadClientConfig = false });
        return new EngineUnderTest(new Testbed(Testbed.Name + "-openssh", Testbed.Provider, Testbed.StateDirectory, machines,
            new Dictionary<string, IReadOnlyList<string>>(), transport));
    }

    /// <summary>Runs <c>true</c> <paramref name="count"/> times, one after another, on one machine; returns the wall clock.</summary>
    public async Task<TimeSpan> RunSequentialAsync(AgentMachine machine, int count, CancellationToken cancellationToken)
    {
        var request = new RemoteExecutionRequest { Command = "true" };
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var run = await Testbed.Transport.ExecuteAsync(machine, request, cancellationToken).ConfigureAwait(false);
            if (run.Outcome != ExecutionOutcome.Exited || run.ExitCode != 0)
                throw new VerificationException($"{machine.Name}: command {i + 1} of {count} ended {run.Outcome} ({run.FailureMessage})");
        }
        return watch.Elapsed;
    }

    /// <summary>Closes every master connection, so the next run connects anew (a cold run).</summary>
    public Task CloseConnectionsAsync(CancellationToken cancellationToken) => Testbed.Transport.CloseAllAsync(cancellationToken);

    /// <summary>Closes every master connection between cells; a failure is logged, never fatal to the benchmark.</summary>
    public async Task CloseConnectionsQuietlyAsync(Action<string> log)
    {
        try
        {
            await Testbed.Transport.CloseAllAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            log($"closing the engine's connections failed: {CellRunner.Describe(e)}");
        }
    }

    /// <summary>
    /// Runs <c>hostname</c> on <paramref name="machines"/> with ThrottleLimit = N and returns the wall clock.
    /// Throws <see cref="VerificationException"/> unless every host succeeded and printed something.
    /// </summary>
    public async Task<TimeSpan> RunHostnameAsync(IReadOnlyList<AgentMachine> machines, IRunRecorder? recorder, CancellationToken cancellationToken)
    {
        var spec = new RemoteCommandSpec { Command = "hostname", ThrottleLimit = machines.Count };
        var watch = Stopwatch.StartNew();
        var reader = _runner.Operation(spec).Stream(machines, recorder, cancellationToken);
        var answered = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var failures = new List<string>();
        await foreach (var result in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (result.Succeeded && result.Stdout.Trim().Length > 0) answered.Add(result.Machine.Name);
            else failures.Add(result.Error?.Message ?? $"{result.Machine.Name}: {result.Status}, no output");
        }
        var elapsed = watch.Elapsed;
        if (answered.Count != machines.Count)
            throw new VerificationException(
                $"{answered.Count}/{machines.Count} hosts answered; {string.Join("; ", failures.Take(2))}");
        return elapsed;
    }
}
