using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.RemoteCommands;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Slurm;
using Provisioning.Core.Transfer;
using Provisioning.Core.Transport;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Slurm;

/// <summary>The Slurm provider and transport against a real one-machine Slurm cluster (slurmctld, four slurmd, munge).</summary>
[Collection("SlurmCluster")]
public sealed class SlurmProviderTests(SlurmClusterFixture cluster) : IDisposable
{
    private readonly ScratchFolder _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private async Task<Testbed> AllocateAsync(int nodes, IReadOnlyDictionary<string, int>? roles = null, string? jobId = null)
    {
        Skip.If(cluster.Unavailable is not null, cluster.Unavailable);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await SlurmProvider.StartAsync(new SlurmTestbedOptions
        {
            Nodes = nodes,
            Roles = roles,
            JobId = jobId,
            TimeLimit = "10",
            Partition = "main",
            Environment = cluster.Environment,
            StateDirectory = Path.Combine(_scratch.Path, "state-" + Guid.NewGuid().ToString("N")[..6]),
        }, timeout.Token);
    }

    private static Task<List<RemoteCommandResult>> RunAsync(IReadOnlyList<AgentMachine> machines, string command, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        DrainAsync(new RemoteCommandRunner().Operation(new RemoteCommandSpec { Command = command, Timeout = timeout }).Stream(machines, null, cancellationToken));

    [SkippableFact]
    public async Task Allocate_run_push_fetch_and_release()
    {
        var testbed = await AllocateAsync(3, new Dictionary<string, int> { ["server"] = 1, ["client"] = 2 });
        var jobId = testbed.AllocationId!;
        try
        {
            Assert.Equal("Slurm", testbed.Provider);
            Assert.Contains(jobId, await cluster.JobsAsync());
            Assert.Equal(["n1", "n2", "n3"], testbed.Machines.Select(m => m.Name));
            Assert.All(testbed.Machines, m =>
            {
                Assert.Equal("127.0.0.1", m.Address);
                Assert.Equal(jobId, m.Slurm!.JobId);
                Assert.True(m.Slurm.Cpus >= 1);
                Assert.Equal(1000, m.Slurm.MemoryMb);
                Assert.Equal("Slurm", m.Transport);
            });
            Assert.Equal(["first"], testbed.Machines[0].Slurm!.Features);
            Assert.Equal(["n1"], testbed.Roles["server"]);
            Assert.Equal(["n2", "n3"], testbed.Roles["client"]);

            // One fan-out of one rendered command is one job step; each node's output and exit code come back apart.
            var transport = (SlurmTransport)testbed.Transport;
            var before = transport.StepsLaunched;
            var results = await RunAsync(testbed.Machines, "echo \"on $SLURMD_NODENAME\"; printf 'no newline' >&2; exit 3");
            Assert.Equal(before + 1, transport.StepsLaunched);
            Assert.All(results, r =>
            {
                Assert.Equal(HostStatus.Failed, r.Status);
                Assert.Equal(3, r.ExitCode);
                Assert.Equal($"on {r.Machine.Name}\n", r.Stdout);
                Assert.Equal("no newline", r.Stderr);
            });

            // A templated command renders differently per host, so each host gets a step of its own.
            before = transport.StepsLaunched;
            var templated = await RunAsync(testbed.Machines, "echo {{ slurm_node }}-{{ slurm_job_id }}");
            Assert.Equal(before + 3, transport.StepsLaunched);
            Assert.All(templated, r => Assert.Equal($"{r.Machine.Name}-{jobId}\n", r.Stdout));

            // Push a file to every node (a stream step each), then fetch it back.
            var folder = Path.Combine(_scratch.Path, "remote");
            var source = _scratch.File("in/app.conf", "listen 8080\n");
            var sent = await DrainAsync(new AgentFileSender().Operation(new FileSendSpec { Path = source, Destination = folder + "/{{ name }}/app.conf" })
                .Stream(testbed.Machines, null, CancellationToken.None));
            Assert.All(sent, r => Assert.True(r.Succeeded, r.Error?.Message));
            foreach (var m in testbed.Machines) Assert.Equal("listen 8080\n", File.ReadAllText(Path.Combine(folder, m.Name, "app.conf")));

            var destination = Path.Combine(_scratch.Path, "fetched");
            var fetched = await DrainAsync(new AgentFileFetcher().Operation(new FileFetchSpec { Path = folder + "/{{ name }}/app.conf", Destination = destination })
                .Stream(testbed.Machines, null, CancellationToken.None));
            Assert.Equal(3, fetched.Count);
            Assert.All(fetched, r =>
            {
                Assert.True(r.Succeeded, r.Error?.Message);
                Assert.Equal("listen 8080\n", File.ReadAllText(r.LocalPath!));
            });
        }
        finally
        {
            await testbed.RemoveAsync();
        }
        Assert.DoesNotContain(jobId, await cluster.JobsAsync());
        using var journal = RunJournal.Open(testbed.JournalPath);
        var allocation = Assert.Single(journal.GetAllocations());
        Assert.Equal(jobId, allocation.JobId);
        Assert.True(allocation.Owned);
        Assert.NotNull(allocation.ReleaseTime);
    }

    [SkippableFact]
    public async Task Attaching_to_an_existing_job_uses_its_nodes_and_leaves_it_allocated()
    {
        Skip.If(cluster.Unavailable is not null, cluster.Unavailable);
        var (code, output) = await cluster.SlurmAsync("salloc", "--no-shell", "--nodes", "2", "--time", "10", "--job-name", "attach-test");
        Assert.True(code == 0, output);
        var jobId = System.Text.RegularExpressions.Regex.Match(output, @"Granted job allocation (\d+)").Groups[1].Value;
        try
        {
            var testbed = await AllocateAsync(0, jobId: jobId);
            Assert.Equal(2, testbed.Machines.Count);
            Assert.Contains(testbed.ProviderNotes, n => n.Contains(jobId, StringComparison.Ordinal));
            var results = await RunAsync(testbed.Machines, "echo $SLURM_JOB_ID");
            Assert.All(results, r => Assert.Equal(jobId + "\n", r.Stdout));
            await testbed.RemoveAsync();
            Assert.Contains(jobId, await cluster.JobsAsync());
        }
        finally
        {
            await cluster.SlurmAsync("scancel", jobId);
        }
    }

    [SkippableFact]
    public async Task A_drained_node_is_unreachable_and_the_others_go_on()
    {
        var testbed = await AllocateAsync(3);
        try
        {
            var first = await RunAsync(testbed.Machines, "true");
            Assert.All(first, r => Assert.True(r.Succeeded));
            var (code, output) = await cluster.SlurmAsync("scontrol", "update", "nodename=n2", "state=drain", "reason=maintenance-test");
            Assert.True(code == 0, output);
            await Task.Delay(1100); // the transport reads node states at most once a second

            var results = (await RunAsync(testbed.Machines, "echo ok")).ToDictionary(r => r.Machine.Name);
            Assert.Equal(HostStatus.Unreachable, results["n2"].Status);
            Assert.Equal(ErrorKind.HostUnreachable, results["n2"].Error!.Kind);
            Assert.Contains("drain", results["n2"].Error!.Message, StringComparison.Ordinal);
            Assert.Contains("maintenance-test", results["n2"].Error!.Message, StringComparison.Ordinal);
            Assert.Equal("ok\n", results["n1"].Stdout);
            Assert.Equal("ok\n", results["n3"].Stdout);
        }
        finally
        {
            await cluster.SlurmAsync("scontrol", "update", "nodename=n2", "state=resume");
            await testbed.RemoveAsync();
        }
    }

    [SkippableFact]
    public async Task A_timeout_and_a_cancellation_cancel_the_step_and_leave_nothing_running()
    {
        var testbed = await AllocateAsync(2);
        try
        {
            var markers = Path.Combine(_scratch.Path, "markers");
            Directory.CreateDirectory(markers);
            var command = $"echo $$ > {markers}/$SLURMD_NODENAME-{{{{ index }}}}.pid; sleep 300; touch {markers}/finished";

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var timedOut = await RunAsync(testbed.Machines, command.Replace("{{ index }}", "t", StringComparison.Ordinal), TimeSpan.FromSeconds(2));
            Assert.All(timedOut, r => Assert.Equal(HostStatus.TimedOut, r.Status));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");

            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var cancelled = await RunAsync(testbed.Machines, command.Replace("{{ index }}", "c", StringComparison.Ordinal), cancellationToken: cancel.Token);
            Assert.All(cancelled, r => Assert.Equal(HostStatus.Cancelled, r.Status));

            var pids = Directory.GetFiles(markers, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(4, pids.Count);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (pids.Any(p => Directory.Exists($"/proc/{p}")) && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.All(pids, p => Assert.False(Directory.Exists($"/proc/{p}"), $"the remote command {p} still runs"));
            // scancel returns before slurmd has finished the step: give it a moment to leave squeue.
            string steps;
            do
            {
                (_, steps) = await cluster.SlurmAsync("squeue", "--noheader", "--steps", "--jobs", testbed.AllocationId!, "--format", "%i|%j");
                if (!steps.Contains("provisioning-", StringComparison.Ordinal)) break;
                await Task.Delay(200);
            }
            while (DateTime.UtcNow < deadline.AddSeconds(5));
            Assert.DoesNotContain("provisioning-", steps, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(markers, "finished")));
        }
        finally
        {
            await testbed.RemoveAsync();
        }
    }

    [SkippableFact]
    public async Task An_allocation_that_cannot_be_satisfied_fails_at_once_with_a_clear_error()
    {
        Skip.If(cluster.Unavailable is not null, cluster.Unavailable);
        var jobsBefore = await cluster.JobsAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ProvisioningException>(() => AllocateAsync(50));
        Assert.Equal(ErrorKind.AllocationFailed, error.Kind);
        Assert.Contains("50 node(s)", error.Message, StringComparison.Ordinal);
        Assert.Contains("partition 'main' has 4 node(s)", error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Equal(jobsBefore, await cluster.JobsAsync());
    }

    [SkippableFact]
    public async Task A_request_that_breaks_a_limit_is_cancelled_instead_of_waiting_forever()
    {
        Skip.If(cluster.Unavailable is not null, cluster.Unavailable);
        var jobsBefore = await cluster.JobsAsync();
        // The partition has 4 nodes but allows 2 per job: Slurm queues the job with the reason PartitionNodeLimit.
        var (code, output) = await cluster.SlurmAsync("scontrol", "update", "partitionname=main", "maxnodes=2");
        Assert.True(code == 0, output);
        try
        {
            var error = await Assert.ThrowsAsync<ProvisioningException>(() => AllocateAsync(3));
            Assert.Equal(ErrorKind.AllocationFailed, error.Kind);
            Assert.Contains("PartitionNodeLimit", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await cluster.SlurmAsync("scontrol", "update", "partitionname=main", "maxnodes=unlimited");
        }
        Assert.Equal(jobsBefore, await cluster.JobsAsync());
    }

    [SkippableFact]
    public async Task A_controller_that_dies_leaves_its_allocation_released()
    {
        var testbed = await AllocateAsync(2);
        var jobId = testbed.AllocationId!;
        Assert.Contains(jobId, await cluster.JobsAsync());
        var allocation = Assert.IsType<SlurmAllocation>(testbed.Lifetime);
        Assert.True(allocation.SimulateOwnerDeath(), "the crash guard did not finish");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await cluster.JobsAsync()).Contains(jobId) && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.DoesNotContain(jobId, await cluster.JobsAsync());
        await testbed.RemoveAsync();
    }

    [SkippableFact]
    public async Task Cancelling_a_pending_allocation_cancels_the_request_and_reports_progress_while_it_waits()
    {
        Skip.If(cluster.Unavailable is not null, cluster.Unavailable);
        // Every node is held exclusively, so the next request has to wait.
        var (code, output) = await cluster.SlurmAsync("salloc", "--no-shell", "--nodes", "4", "--exclusive", "--time", "10", "--job-name", "blocker");
        Assert.True(code == 0, output);
        var blocker = System.Text.RegularExpressions.Regex.Match(output, @"Granted job allocation (\d+)").Groups[1].Value;
        try
        {
            var statuses = new System.Collections.Concurrent.ConcurrentQueue<string>();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SlurmProvider.StartAsync(new SlurmTestbedOptions
            {
                Nodes = 2,
                TimeLimit = "10",
                Environment = cluster.Environment,
                StateDirectory = Path.Combine(_scratch.Path, "pending"),
                Progress = statuses.Enqueue,
            }, cancel.Token));
            Assert.Contains(statuses, s => s.Contains("queued and waiting", StringComparison.Ordinal) || s.Contains("Pending job allocation", StringComparison.Ordinal));
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while ((await cluster.JobsAsync()).Count > 1 && DateTime.UtcNow < deadline) await Task.Delay(200);
            Assert.Equal([blocker], await cluster.JobsAsync());
        }
        finally
        {
            await cluster.SlurmAsync("scancel", blocker);
        }
    }

    [SkippableFact]
    public async Task Attaching_to_a_job_that_does_not_exist_is_an_allocation_error()
    {
        var error = await Assert.ThrowsAsync<ProvisioningException>(() => AllocateAsync(0, jobId: "999999"));
        Assert.Equal(ErrorKind.AllocationFailed, error.Kind);
        Assert.Contains("999999", error.Message, StringComparison.Ordinal);
    }
}
