using Provisioning.Core.Transport;

namespace Provisioning.Core.Testbeds;

/// <summary>
/// A named set of agent machines with their roles, the transport that reaches them and a state folder
/// (journal, keys, control sockets). Providers build them (<see cref="TestbedLoader"/> for YAML files,
/// <see cref="Local.LocalProvider"/>), and each provider chooses the transport: the model never builds one.
/// </summary>
public sealed class Testbed : IAsyncDisposable
{
    private readonly ITestbedLifetime? _lifetime;
    private int _removed;

    /// <summary>Creates a testbed over <paramref name="machines"/>; each machine's Testbed is set to this one.</summary>
    public Testbed(
        string name,
        string provider,
        string stateDirectory,
        IReadOnlyList<AgentMachine> machines,
        IReadOnlyDictionary<string, IReadOnlyList<string>> roles,
        ISshTransport transport,
        string? sourcePath = null,
        ITestbedLifetime? lifetime = null,
        IReadOnlyList<string>? providerNotes = null,
        string? allocationId = null,
        bool ownsAllocation = false)
    {
        AllocationId = allocationId;
        OwnsAllocation = ownsAllocation;
        Name = name;
        Provider = provider;
        StateDirectory = stateDirectory;
        Machines = machines;
        Roles = roles;
        SourcePath = sourcePath;
        _lifetime = lifetime;
        Id = Guid.NewGuid().ToString("N")[..12];
        foreach (var m in machines) m.Testbed = this;
        Transport = transport ?? throw new ArgumentNullException(nameof(transport));
        ProviderNotes = providerNotes ?? [];
    }

    /// <summary>Short unique id of this loaded testbed.</summary>
    public string Id { get; }
    /// <summary>The testbed's name (YAML <c>name</c>, or a generated one).</summary>
    public string Name { get; }
    /// <summary>Where the testbed came from: <c>Static</c> (a YAML file), <c>Local</c> or <c>Slurm</c>.</summary>
    public string Provider { get; }
    /// <summary>The scheduler's job id of the allocation that holds the machines (Slurm testbeds); null otherwise.</summary>
    public string? AllocationId { get; }
    /// <summary>True when removing the testbed releases <see cref="AllocationId"/> (it allocated it, rather than attaching to it).</summary>
    public bool OwnsAllocation { get; }
    /// <summary>The YAML file it was loaded from, if any.</summary>
    public string? SourcePath { get; }
    /// <summary>Folder of the testbed's state: journal, generated keys, agent folders.</summary>
    public string StateDirectory { get; }
    /// <summary>Path of the run journal (SQLite) in <see cref="StateDirectory"/>.</summary>
    public string JournalPath => Path.Combine(StateDirectory, "journal.db");
    /// <summary>Every host, in file order.</summary>
    public IReadOnlyList<AgentMachine> Machines { get; }
    /// <summary>Role name to host names.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Roles { get; }
    /// <summary>
    /// What the provider could not give and the user should know (a Local testbed whose agents fall back to this
    /// machine's root filesystem says why); New-Testbed writes each as a warning.
    /// </summary>
    public IReadOnlyList<string> ProviderNotes { get; }
    /// <summary>The transport every command and copy of this testbed goes through.</summary>
    public ISshTransport Transport { get; }
    /// <summary>True once <see cref="RemoveAsync"/> ran.</summary>
    public bool IsRemoved => Volatile.Read(ref _removed) != 0;

    /// <summary>What the provider does when the testbed is removed (tests reach the crash guards through it).</summary>
    internal ITestbedLifetime? Lifetime => _lifetime;

    /// <summary>Finds a machine by name (case-insensitive), or null.</summary>
    public AgentMachine? this[string name] =>
        Machines.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Closes every master connection and, for a provider that owns its agents (Local), stops them and
    /// deletes their state. Safe to call twice.
    /// </summary>
    public async Task RemoveAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _removed, 1) != 0) return;
        try
        {
            await Transport.CloseAllAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_lifetime is not null) await _lifetime.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await RemoveAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Machines.Count} machines, {Provider})";
}

/// <summary>What a provider must do when its testbed is removed (stop agents, delete state).</summary>
public interface ITestbedLifetime
{
    /// <summary>Stops everything the provider started. Must not throw for things already gone.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}
