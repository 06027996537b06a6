namespace Provisioning.Core.Testbeds.Slurm;

/// <summary>Options of <see cref="SlurmProvider.StartAsync"/>: what to ask the scheduler for, or which allocation to attach to.</summary>
public sealed class SlurmTestbedOptions
{
    /// <summary>How many nodes to allocate (<c>salloc -N</c>). Ignored with <see cref="JobId"/>.</summary>
    public int Nodes { get; init; } = 1;
    /// <summary>The partition (<c>-p</c>); null: the cluster's default.</summary>
    public string? Partition { get; init; }
    /// <summary>The allocation's time limit in Slurm's format (<c>-t</c>: <c>minutes</c>, <c>HH:MM:SS</c>, <c>D-HH</c>); null: the partition's default.</summary>
    public string? TimeLimit { get; init; }
    /// <summary>The account to charge (<c>-A</c>).</summary>
    public string? Account { get; init; }
    /// <summary>Node features the nodes must have (<c>-C</c>, Slurm's constraint syntax).</summary>
    public string? Constraint { get; init; }
    /// <summary>An allocation that already exists (a job id) to attach to instead of allocating; it is not released with the testbed.</summary>
    public string? JobId { get; init; }
    /// <summary>Role name to number of nodes, given in node order (server = 1, client = 3: the first node is the server).</summary>
    public IReadOnlyDictionary<string, int>? Roles { get; init; }
    /// <summary>Variables every node starts with (a testbed file's <c>defaults: vars:</c>); the <c>slurm_*</c> facts go over them.</summary>
    public VariableDictionary? Variables { get; init; }
    /// <summary>The testbed file the request came from, if any (<see cref="Testbed.SourcePath"/>).</summary>
    public string? SourcePath { get; init; }
    /// <summary>Testbed name; generated when null. It is also the job's name (<c>provisioning-&lt;name&gt;</c>).</summary>
    public string? Name { get; init; }
    /// <summary>Where the testbed's journal goes; a folder under the user's state directory, per job, when null.</summary>
    public string? StateDirectory { get; init; }
    /// <summary>Variables added to the Slurm commands' environment (for example SLURM_CONF of a test cluster).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    /// <summary>Called with a line of status while the allocation waits (pending, queued, granted); on a worker thread.</summary>
    public Action<string>? Progress { get; init; }
}
