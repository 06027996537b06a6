using System.Collections;
using System.Management.Automation;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using Provisioning.Core.Testbeds.Slurm;
using Provisioning.Core.Transport;
using Provisioning.Errors;
using Provisioning.Pipeline;
using Provisioning.Session;

namespace Provisioning.Commands;

/// <summary>
/// <para type="synopsis">Loads a testbed from a YAML file, starts a Local testbed of real sshd agents, or allocates nodes from a Slurm cluster, and makes it current.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "Testbed", DefaultParameterSetName = PathSet)]
[OutputType(typeof(Testbed))]
public sealed class NewTestbedCommand : AgentCmdlet
{
    private const string PathSet = "Path";
    private const string LocalSet = "Local";
    private const string SlurmSet = "Slurm";
    private const string SlurmJobSet = "SlurmJob";

    /// <summary>The testbed YAML file, relative to the current location.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>
    /// The provider that creates the machines. <c>Local</c> starts sshd agents on loopback; <c>Slurm</c> allocates
    /// nodes from a Slurm cluster (<c>-Nodes</c>) or attaches to an allocation (<c>-JobId</c>).
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = LocalSet)]
    [Parameter(Mandatory = true, ParameterSetName = SlurmSet)]
    [Parameter(Mandatory = true, ParameterSetName = SlurmJobSet)]
    [ValidateSet(LocalProvider.ProviderName, SlurmProvider.ProviderName)]
    public string Provider { get; set; } = LocalProvider.ProviderName;

    /// <summary>How many nodes to ask the Slurm scheduler for (<c>salloc -N</c>).</summary>
    [Parameter(Mandatory = true, ParameterSetName = SlurmSet)]
    [ValidateRange(1, SlurmProvider.MaxNodes)]
    public int Nodes { get; set; }

    /// <summary>The Slurm partition to allocate from; the cluster's default when omitted.</summary>
    [Parameter(ParameterSetName = SlurmSet)]
    [ValidateNotNullOrEmpty]
    public string? Partition { get; set; }

    /// <summary>The allocation's time limit, in Slurm's format (<c>30</c>, <c>02:00:00</c>, <c>1-00</c>); the partition's default when omitted.</summary>
    [Parameter(ParameterSetName = SlurmSet)]
    [ValidateNotNullOrEmpty]
    public string? TimeLimit { get; set; }

    /// <summary>The Slurm account to charge (<c>salloc -A</c>).</summary>
    [Parameter(ParameterSetName = SlurmSet)]
    [ValidateNotNullOrEmpty]
    public string? Account { get; set; }

    /// <summary>Node features the nodes must have (<c>salloc -C</c>, in Slurm's constraint syntax).</summary>
    [Parameter(ParameterSetName = SlurmSet)]
    [ValidateNotNullOrEmpty]
    public string? Constraint { get; set; }

    /// <summary>An existing Slurm allocation (job id) to attach to instead of allocating; Remove-Testbed leaves it allocated.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SlurmJobSet)]
    [ValidatePattern(SlurmProvider.JobIdPattern)]
    public string? JobId { get; set; }

    /// <summary>How many Local agents to start.</summary>
    [Parameter(ParameterSetName = LocalSet)]
    [ValidateRange(1, 1000)]
    public int Count { get; set; } = 4;

    /// <summary>
    /// Role name to number of agents: <c>@{ server = 1; client = 3 }</c>. Agents are given roles from agent-1 on,
    /// in the written order for an <c>[ordered]</c> dictionary; a plain hashtable has no order, so there the
    /// smaller roles come first (server = 1 makes agent-1 the server), ties by name.
    /// </summary>
    [Parameter(ParameterSetName = LocalSet)]
    [Parameter(ParameterSetName = SlurmSet)]
    [Parameter(ParameterSetName = SlurmJobSet)]
    [ValidateNotNull]
    public IDictionary? Role { get; set; }

    /// <summary>The Local or Slurm testbed's name; generated when omitted.</summary>
    [Parameter(ParameterSetName = LocalSet)]
    [Parameter(ParameterSetName = SlurmSet)]
    [Parameter(ParameterSetName = SlurmJobSet)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>
    /// What each Local agent shares with this machine. <c>Private</c>: its own copy-on-write root filesystem and
    /// processes (root on Linux). <c>Shared</c>: this machine's. When omitted, Private where it works, else Shared
    /// with a warning that says why.
    /// </summary>
    /// <remarks>A string (not the engine's enum): a value-type field of an engine type would make pwsh load the engine
    /// before the module initializer can resolve it.</remarks>
    [Parameter(ParameterSetName = LocalSet)]
    [ValidateSet(nameof(LocalIsolation.Shared), nameof(LocalIsolation.Private))]
    public string? Isolation { get; set; }

    /// <summary>
    /// The Local agents' network. <c>Host</c>: this machine's. <c>Offline</c>: one namespace of the testbed's own with
    /// no route out, where agents reach only each other (root on Linux).
    /// </summary>
    [Parameter(ParameterSetName = LocalSet)]
    [ValidateSet(nameof(LocalNetwork.Host), nameof(LocalNetwork.Offline))]
    public string Network { get; set; } = nameof(LocalNetwork.Host);

    /// <summary>
    /// The SSH client of every machine: <c>Auto</c> (SSH.NET where it can serve the host, OpenSSH otherwise),
    /// <c>SshNet</c> or <c>OpenSsh</c>. Overrides the file's <c>transport:</c> keys.
    /// </summary>
    /// <remarks>A string, for the same reason as <see cref="Isolation"/>.</remarks>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LocalSet)]
    [ValidateSet(nameof(TransportKind.Auto), nameof(TransportKind.SshNet), nameof(TransportKind.OpenSsh))]
    public string? Transport { get; set; }

    private TransportKind? ParsedTransport() => Transport is null ? null : Enum.Parse<TransportKind>(Transport, ignoreCase: true);

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var testbed = ParameterSetName switch
        {
            LocalSet when Provider.Equals(SlurmProvider.ProviderName, StringComparison.OrdinalIgnoreCase) => throw TerminatingError(
                ErrorRecordFactory.InvalidArgument("TestbedSlurmRequestMissing",
                    "New-Testbed -Provider Slurm needs -Nodes (a new allocation) or -JobId (an allocation that exists).", Provider)),
            LocalSet => StartLocal(),
            SlurmSet or SlurmJobSet when !Provider.Equals(SlurmProvider.ProviderName, StringComparison.OrdinalIgnoreCase) => throw TerminatingError(
                ErrorRecordFactory.InvalidArgument("TestbedProviderParameterInvalid",
                    $"-Nodes, -JobId, -Partition, -TimeLimit, -Account and -Constraint are parameters of -Provider Slurm, not of -Provider {Provider}.", Provider)),
            SlurmSet or SlurmJobSet => StartSlurm(),
            _ => Load(),
        };
        if (Stopping)
        {
            // Stopped while the testbed came up: it must not survive half-owned by nobody.
            DiscardQuietly(testbed);
            throw new PipelineStoppedException();
        }
        foreach (var note in testbed.ProviderNotes) WriteWarning(note);
        TestbedRegistry.Add(testbed);
        WriteVerbose($"Testbed '{testbed.Name}' ({testbed.Machines.Count} machines, {testbed.Provider}) is now the current testbed; state in {testbed.StateDirectory}.");
        WriteObject(testbed);
    }

    private Testbed Load()
    {
        var file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        // A file with provider: slurm waits for its allocation: with progress, and Ctrl+C cancels the request.
        var transport = ParsedTransport();
        return InvokeEngine(() => AwaitWithProgress($"Loading {file}", progress => TestbedLoader.LoadAsync(file, transport, progress, StopToken)), file);
    }

    private Testbed StartLocal()
    {
        var options = new LocalTestbedOptions
        {
            Count = Count,
            Roles = RoleCounts(),
            Name = Name,
            Isolation = Isolation is null ? null : Enum.Parse<LocalIsolation>(Isolation, ignoreCase: true),
            Network = Enum.Parse<LocalNetwork>(Network, ignoreCase: true),
            Transport = ParsedTransport(),
        };
        var progress = new ProgressRecord(1, "New-Testbed", $"Starting {Count} local sshd agents");
        WriteProgress(progress);
        try
        {
            return Await(LocalProvider.StartAsync(options, StopToken));
        }
        catch (Exception ex) when (ex is not RuntimeException)
        {
            throw TerminatingError(ErrorRecordFactory.FromException(ex, options.Name));
        }
        finally
        {
            if (!Stopping)
            {
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
            }
        }
    }

    private Testbed StartSlurm()
    {
        var roles = RoleCounts();
        SlurmTestbedOptions Options(Action<string>? progress) => new()
        {
            Nodes = ParameterSetName == SlurmSet ? Nodes : 1,
            Partition = Partition,
            TimeLimit = TimeLimit,
            Account = Account,
            Constraint = Constraint,
            JobId = ParameterSetName == SlurmJobSet ? JobId : null,
            Roles = roles,
            Name = Name,
            Progress = progress,
        };
        var activity = ParameterSetName == SlurmJobSet ? $"Attaching to Slurm job {JobId}" : $"Allocating {Nodes} Slurm node(s)";
        try
        {
            return AwaitWithProgress(activity, progress => SlurmProvider.StartAsync(Options(progress), StopToken));
        }
        catch (Exception ex) when (ex is not RuntimeException)
        {
            throw TerminatingError(ErrorRecordFactory.FromException(ex, Name ?? (object?)JobId));
        }
    }

    private Dictionary<string, int>? RoleCounts()
    {
        if (Role is null) return null;
        var counts = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in RoleEntriesInOrder(Role))
        {
            var role = entry.Key?.ToString() ?? "";
            try
            {
                counts[role] = LanguagePrimitives.ConvertTo<int>(entry.Value);
            }
            catch (PSInvalidCastException)
            {
                throw TerminatingError(ErrorRecordFactory.InvalidArgument("TestbedRoleCountInvalid",
                    $"-Role: the number of agents for role '{role}' must be a whole number, not '{entry.Value}'.", Role));
            }
            if (counts[role] < 0)
            {
                throw TerminatingError(ErrorRecordFactory.InvalidArgument("TestbedRoleCountInvalid",
                    $"-Role: the number of agents for role '{role}' cannot be negative.", Role));
            }
        }
        return counts;
    }

    // Dictionary<,> enumerates in insertion order when nothing is removed, which the provider relies on.
    private static IEnumerable<DictionaryEntry> RoleEntriesInOrder(IDictionary roles)
    {
        var entries = roles.Cast<DictionaryEntry>().ToList();
        if (roles is System.Collections.Specialized.IOrderedDictionary) return entries;
        return entries
            .OrderBy(e => LanguagePrimitives.TryConvertTo<int>(e.Value, out var n) ? n : int.MaxValue)
            .ThenBy(e => e.Key?.ToString(), StringComparer.OrdinalIgnoreCase);
    }

    private static void DiscardQuietly(Testbed testbed)
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            testbed.RemoveAsync(grace.Token).Wait(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Best effort while stopping; the provider's own exit handling covers the rest.
        }
    }
}
