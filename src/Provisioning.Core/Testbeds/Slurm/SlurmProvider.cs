using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Testbeds.Slurm;

/// <summary>
/// Acquires nodes from a Slurm cluster (<c>salloc --no-shell</c>) or attaches to an allocation that exists, and builds
/// one <see cref="AgentMachine"/> per allocated node, reached through <see cref="SlurmTransport"/> (job steps, not ssh).
/// Removing the testbed releases an allocation it made (<c>scancel</c>); a crash guard does the same if this process
/// dies first. Only the Slurm client commands are needed on the controller.
/// </summary>
public static partial class SlurmProvider
{
    /// <summary>The <see cref="Testbed.Provider"/> value of Slurm testbeds.</summary>
    public const string ProviderName = "Slurm";

    /// <summary>Most nodes one testbed asks for.</summary>
    public const int MaxNodes = 100_000;

    /// <summary>Allocates (or attaches) and returns the testbed; waits while the job is pending, until cancelled.</summary>
    /// <exception cref="ArgumentException">Nodes is out of range, or the roles ask for more nodes than the testbed has.</exception>
    /// <exception cref="ProvisioningException">
    /// <see cref="ErrorKind.AllocationFailed"/> when the scheduler refuses the request or the job is not running;
    /// <see cref="ErrorKind.SchedulerClientMissing"/> when a Slurm client command is missing.
    /// </exception>
    public static async Task<Testbed> StartAsync(SlurmTestbedOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.JobId is null && (options.Nodes < 1 || options.Nodes > MaxNodes))
            throw new ArgumentOutOfRangeException(nameof(options), options.Nodes, $"A Slurm testbed asks for 1 to {MaxNodes} nodes; {options.Nodes} was asked for.");
        if (options.JobId is { } given && !JobIdRegex().IsMatch(given))
            throw new ArgumentException($"'{given}' is not a Slurm job id (digits, or digits_digits for an array task).", nameof(options));
        if (options.JobId is null) _ = Local.LocalProvider.AssignRoles(options.Nodes, options.Roles);
        var client = new SlurmClient(options.Environment);
        foreach (var program in new[] { "srun", "squeue", "sinfo", "scontrol", "scancel" }) client.Locate(program);

        var name = options.Name ?? $"slurm-{Guid.NewGuid().ToString("N")[..6]}";
        var owned = options.JobId is null;
        var jobId = options.JobId ?? await AllocateAsync(client, options, name, cancellationToken).ConfigureAwait(false);
        try
        {
            var job = await WaitRunningAsync(client, jobId, options.Progress, cancellationToken).ConfigureAwait(false);
            var nodes = await ReadNodesAsync(client, job, cancellationToken).ConfigureAwait(false);
            var roleOf = Local.LocalProvider.AssignRoles(nodes.Count, options.Roles);
            var machines = nodes.Select((node, i) => new AgentMachine(node.Name, node.Address, i, roleOf[i], new ConnectionSettings(), Variables(node, options.Variables)) { Slurm = node }).ToList();
            var roles = machines.SelectMany(m => m.Roles.Select(r => (Role: r, m.Name)))
                .GroupBy(x => x.Role, StringComparer.OrdinalIgnoreCase)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(x => x.Name).ToList(), StringComparer.OrdinalIgnoreCase);

            var state = options.StateDirectory is { } requested ? Path.GetFullPath(requested) : Path.Combine(TestbedStateDirectory.Root, $"slurm-{jobId}");
            Directory.CreateDirectory(state);
            var stepName = $"provisioning-{name}";
            var transport = new SlurmTransport(client, jobId, job.NodeList, stepName);
            var lifetime = SlurmAllocation.Hold(client, jobId, owned, stepName, Path.Combine(state, "journal.db"), name, nodes.Count);
            var notes = owned ? Array.Empty<string>() : [$"Attached to job {jobId}, which this testbed did not allocate: Remove-Testbed stops this session's job steps but leaves the allocation to its owner."];
            return new Testbed(name, ProviderName, state, machines, roles, transport, lifetime: lifetime, providerNotes: notes, allocationId: jobId, ownsAllocation: owned, sourcePath: options.SourcePath);
        }
        catch
        {
            if (owned) await CancelQuietlyAsync(client, jobId).ConfigureAwait(false);
            throw;
        }
    }

    private static VariableDictionary Variables(SlurmNode node, VariableDictionary? defaults)
    {
        var variables = defaults is null ? new VariableDictionary() : Yaml.VariableCopy.Deep(defaults);
        variables["slurm_job_id"] = node.JobId;
        variables["slurm_node"] = node.Name;
        variables["slurm_cpus"] = node.Cpus;
        variables["slurm_memory_mb"] = node.MemoryMb;
        variables["slurm_features"] = node.Features.ToList();
        if (node.Partition is not null) variables["slurm_partition"] = node.Partition;
        return variables;
    }

    /// <summary>What a Slurm job id looks like: digits, or digits_digits for an array task.</summary>
    public const string JobIdPattern = @"^\d+(_\d+)?$";

    [GeneratedRegex(JobIdPattern)]
    internal static partial Regex JobIdRegex();

    [GeneratedRegex(@"job allocation (\d+)|[Jj]ob (\d+) (?:queued|has been allocated)")]
    private static partial Regex AllocationLine();

    /// <summary>Runs salloc until the allocation is granted; reports its lines as progress; cancels the job on Ctrl+C.</summary>
    private static async Task<string> AllocateAsync(SlurmClient client, SlurmTestbedOptions options, string name, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "--no-shell", "--nodes", options.Nodes.ToString(CultureInfo.InvariantCulture), "--job-name", $"provisioning-{name}" };
        void Add(string flag, string? value) { if (!string.IsNullOrWhiteSpace(value)) { arguments.Add(flag); arguments.Add(value); } }
        Add("--partition", options.Partition);
        Add("--time", options.TimeLimit);
        Add("--account", options.Account);
        Add("--constraint", options.Constraint);

        await CheckPartitionSizeAsync(client, options, cancellationToken).ConfigureAwait(false);
        using var process = Process.Start(client.StartInfo("salloc", arguments))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        string? jobId = null;
        var messages = new List<string>();
        options.Progress?.Invoke($"Asking Slurm for {options.Nodes} node(s){(options.Partition is null ? "" : $" in partition {options.Partition}")}");
        var reading = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                if (line.Trim().Length == 0) continue;
                if (AllocationLine().Match(line) is { Success: true } m) Volatile.Write(ref jobId, m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
                lock (messages) messages.Add(line.Trim());
                options.Progress?.Invoke(line.Trim());
            }
        }, CancellationToken.None);
        string? hopeless = null;
        try
        {
            // Slurm queues a request it may never satisfy (a limit of the partition, the account or the QOS); watch the
            // pending job's reason, so such a request fails with that reason instead of waiting forever.
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var exited = process.WaitForExitAsync(watch.Token);
            while (!exited.IsCompleted)
            {
                await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (exited.IsCompleted || Volatile.Read(ref jobId) is not { } pending) continue;
                var (code, reason, _) = await client.RunAsync("squeue", ["--noheader", "--jobs", pending, "--format", "%r"], cancellationToken).ConfigureAwait(false);
                if (code == 0 && HopelessReasons.Contains(reason.Trim()))
                {
                    hopeless = reason.Trim();
                    break;
                }
            }
            if (hopeless is not null)
            {
                SlurmClient.Terminate(process);
                await CancelQuietlyAsync(client, jobId!).ConfigureAwait(false);
                if (!process.WaitForExit(5000)) SlurmClient.Kill(process);
                throw new ProvisioningException(ErrorKind.AllocationFailed,
                    $"Slurm cannot ever satisfy the allocation of {options.Nodes} node(s): job {jobId} waits for '{hopeless}' (a limit of the partition, account or QOS), so it was cancelled.",
                    options.Name);
            }
            await exited.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // salloc revokes a pending request when it is told to stop; scancel makes sure, whatever state it reached.
            SlurmClient.Terminate(process);
            if (Volatile.Read(ref jobId) is { } pending) await CancelQuietlyAsync(client, pending).ConfigureAwait(false);
            if (!process.WaitForExit(5000)) SlurmClient.Kill(process);
            throw;
        }
        await reading.ConfigureAwait(false);
        await stdout.ConfigureAwait(false);
        if (process.ExitCode != 0 || jobId is null)
        {
            if (jobId is not null) await CancelQuietlyAsync(client, jobId).ConfigureAwait(false);
            string text;
            lock (messages) text = string.Join(" ", messages.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).DefaultIfEmpty(string.Join(" ", messages)));
            throw new ProvisioningException(ErrorKind.AllocationFailed,
                $"Slurm refused the allocation of {options.Nodes} node(s){(options.Partition is null ? "" : $" in partition '{options.Partition}'")}: {(text.Length == 0 ? $"salloc exited with code {process.ExitCode}" : text)}",
                options.Name);
        }
        return jobId;
    }

    // squeue's pending reasons that no wait can end: the request breaks a limit that only an administrator can change.
    private static readonly HashSet<string> HopelessReasons = new(StringComparer.OrdinalIgnoreCase)
    {
        "BadConstraints", "PartitionNodeLimit", "PartitionTimeLimit", "InvalidAccount", "InvalidQOS", "AccountNotAllowed", "QOSNotAllowed",
        "QOSMaxNodePerJobLimit", "QOSMaxWallDurationPerJobLimit", "AssocMaxNodesPerJobLimit", "AssocMaxWallDurationPerJobLimit",
    };

    /// <summary>Refuses, before asking, more nodes than the partition has at all (Slurm would queue such a job forever).</summary>
    private static async Task CheckPartitionSizeAsync(SlurmClient client, SlurmTestbedOptions options, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await client.RunAsync("sinfo", ["--noheader", "--format", "%P|%D"], cancellationToken).ConfigureAwait(false);
        if (code != 0) return; // salloc will say what is wrong
        var partitions = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('|'))
            .Where(f => f.Length == 2 && int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            .GroupBy(f => f[0].TrimEnd('*'))
            .Select(g => (Name: g.Key, IsDefault: g.Any(f => f[0].EndsWith('*')), Nodes: g.Sum(f => int.Parse(f[1], CultureInfo.InvariantCulture))))
            .ToList();
        var partition = options.Partition is { } wanted
            ? partitions.FirstOrDefault(p => p.Name == wanted)
            : partitions.FirstOrDefault(p => p.IsDefault);
        if (partition.Name is null)
        {
            if (options.Partition is not null)
            {
                throw new ProvisioningException(ErrorKind.AllocationFailed,
                    $"Slurm has no partition '{options.Partition}'; it has {string.Join(", ", partitions.Select(p => p.Name))}.", options.Partition);
            }
            return;
        }
        if (options.Nodes > partition.Nodes)
        {
            throw new ProvisioningException(ErrorKind.AllocationFailed,
                $"Slurm cannot satisfy the allocation of {options.Nodes} node(s): partition '{partition.Name}' has {partition.Nodes} node(s) in all.",
                options.Partition ?? partition.Name);
        }
    }

    /// <summary>What <c>scontrol show job</c> says of the job the testbed uses.</summary>
    internal sealed record JobInfo(string JobId, string State, string NodeList, string? Partition);

    private static async Task<JobInfo> WaitRunningAsync(SlurmClient client, string jobId, Action<string>? progress, CancellationToken cancellationToken)
    {
        while (true)
        {
            var job = await ReadJobAsync(client, jobId, cancellationToken).ConfigureAwait(false);
            switch (job.State)
            {
                case "RUNNING":
                    progress?.Invoke($"Job {jobId} runs on {job.NodeList}");
                    return job;
                case "PENDING" or "CONFIGURING" or "REQUEUED" or "RESIZING":
                    progress?.Invoke($"Job {jobId} is {job.State.ToLowerInvariant()}, waiting for its nodes");
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new ProvisioningException(ErrorKind.AllocationFailed,
                        $"Job {jobId} is {job.State}, not running: its allocation has no nodes to use.", jobId);
            }
        }
    }

    internal static async Task<JobInfo> ReadJobAsync(SlurmClient client, string jobId, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await client.RunAsync("scontrol", ["show", "job", "--oneliner", jobId], cancellationToken).ConfigureAwait(false);
        if (code != 0 || stdout.Trim().Length == 0)
        {
            throw new ProvisioningException(ErrorKind.AllocationFailed,
                $"Slurm has no job {jobId}: {SlurmClient.FirstLines(stderr)}", jobId);
        }
        string? Field(string key) => Regex.Match(stdout, @"(?:^|\s)" + key + @"=(\S*)") is { Success: true } m ? m.Groups[1].Value : null;
        return new JobInfo(jobId, Field("JobState") ?? "UNKNOWN", Field("NodeList") ?? "", Field("Partition"));
    }

    private static async Task<IReadOnlyList<SlurmNode>> ReadNodesAsync(SlurmClient client, JobInfo job, CancellationToken cancellationToken)
    {
        var names = (await client.QueryAsync("scontrol", ["show", "hostnames", job.NodeList], cancellationToken).ConfigureAwait(false))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var facts = new Dictionary<string, SlurmNode>(StringComparer.Ordinal);
        var listing = await client.QueryAsync("sinfo", ["--noheader", "--Node", "--nodes", job.NodeList, "--format", "%N|%o|%c|%m|%f"], cancellationToken).ConfigureAwait(false);
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length < 5 || facts.ContainsKey(f[0])) continue; // a node in several partitions is listed once per partition
            facts[f[0]] = new SlurmNode
            {
                Name = f[0],
                Address = f[1].Length > 0 && f[1] != "(null)" ? f[1] : f[0],
                JobId = job.JobId,
                Cpus = int.TryParse(f[2].TrimEnd('+'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var cpus) ? cpus : 0,
                MemoryMb = long.TryParse(f[3].TrimEnd('+'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var memory) ? memory : 0,
                Features = f[4] is "(null)" or "" ? [] : f[4].Split(',', StringSplitOptions.RemoveEmptyEntries),
                Partition = job.Partition,
            };
        }
        return names.Select(n => facts.TryGetValue(n, out var node) ? node : new SlurmNode { Name = n, Address = n, JobId = job.JobId, Partition = job.Partition }).ToList();
    }

    internal static async Task CancelQuietlyAsync(SlurmClient client, string jobId)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await client.RunAsync("scancel", [jobId], limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ProvisioningException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Best effort: the allocation's time limit ends it anyway.
        }
    }
}
