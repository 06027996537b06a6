namespace Provisioning.Core.Testbeds.Slurm;

/// <summary>What the scheduler says about one allocated node (<c>sinfo -N</c>): its Slurm facts.</summary>
public sealed record SlurmNode
{
    /// <summary>The node's name in Slurm (<c>NodeName</c>), which is also the machine's name.</summary>
    public required string Name { get; init; }
    /// <summary>The node's address (<c>NodeAddr</c>).</summary>
    public required string Address { get; init; }
    /// <summary>The job whose allocation holds the node.</summary>
    public required string JobId { get; init; }
    /// <summary>The node's CPUs (<c>CPUTot</c>).</summary>
    public int Cpus { get; init; }
    /// <summary>The node's memory in MiB (<c>RealMemory</c>).</summary>
    public long MemoryMb { get; init; }
    /// <summary>The node's features (<c>AvailableFeatures</c>), for constraints.</summary>
    public IReadOnlyList<string> Features { get; init; } = [];
    /// <summary>The partition of the job.</summary>
    public string? Partition { get; init; }
}
