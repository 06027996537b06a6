using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using Provisioning.Core.Transport;

namespace Provisioning.IntegrationTests;

/// <summary>
/// One Local testbed of 8 real sshd agents (server: agent-1..2, client: agent-3..8) shared by every test class
/// in the "LocalTestbed" collection, removed when they are done.
/// </summary>
public sealed class LocalTestbedFixture : IAsyncLifetime
{
    /// <summary>Number of agents.</summary>
    public const int AgentCount = 8;

    private Testbed? _testbed;

    /// <summary>The running testbed.</summary>
    public Testbed Testbed => _testbed ?? throw new InvalidOperationException("The Local testbed has not started.");

    /// <summary>The ssh_config the testbed's transport uses (ssh -F), for plain ssh calls in tests.</summary>
    public string SshConfigFile => ((TransportRouter)Testbed.Transport).OpenSsh.Options.ConfigFile!;

    /// <summary>True when agents run in their own namespaces (hostname = agent name, clean home).</summary>
    public bool Isolated => LocalProvider.LifetimeOf(Testbed)!.Isolated;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _testbed = await LocalProvider.StartAsync(new LocalTestbedOptions
        {
            Count = AgentCount,
            Name = "integration",
            Roles = new Dictionary<string, int> { ["server"] = 2, ["client"] = 6 },
        }, timeout.Token);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_testbed is not null) await _testbed.RemoveAsync();
    }
}

/// <summary>Test classes marked <c>[Collection("LocalTestbed")]</c> share one <see cref="LocalTestbedFixture"/>.</summary>
[CollectionDefinition("LocalTestbed")]
public sealed class LocalTestbedCollection : ICollectionFixture<LocalTestbedFixture>
{
}
