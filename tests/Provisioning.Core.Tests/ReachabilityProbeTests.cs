using System.Collections.Concurrent;
using System.Diagnostics;
using Provisioning.Core.Errors;
using Provisioning.Core.Reachability;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Tests;

// The polling and timing logic of ReachabilityProbe, over a scripted transport. Real sshd coverage of
// ConnectAsync belongs to the transport's integration tests.
public class ReachabilityProbeTests
{
    private static readonly TimeSpan FastPoll = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Checks_each_host_once_and_reports_why_a_host_is_unreachable()
    {
        var transport = new ScriptedTransport();
        var testbed = Testbed(transport, 6);
        transport.Script("m2", _ => Refused());
        transport.Script("m4", _ => new ConnectionCheck { Reachable = false, FailureKind = ErrorKind.HostKeyVerificationFailed, FailureMessage = "Host key verification failed." });

        var statuses = await Collect(ReachabilityProbe.Run(testbed.Machines, new ReachabilityOptions(), CancellationToken.None));

        Assert.Equal(6, statuses.Count);
        Assert.Equal(testbed.Machines.Select(m => m.Name).Order(), statuses.Select(s => s.Name).Order());
        Assert.All(testbed.Machines, m => Assert.Equal(1, transport.Calls(m.Name)));
        var down = statuses.Where(s => !s.Reachable).OrderBy(s => s.Name).ToList();
        Assert.Equal(["m2", "m4"], down.Select(s => s.Name));
        Assert.Equal(ErrorKind.HostUnreachable, down[0].Error!.Kind);
        Assert.Contains("Connection refused", down[0].Error!.Message);
        Assert.Equal(ErrorKind.HostKeyVerificationFailed, down[1].Error!.Kind);
        Assert.All(statuses.Where(s => s.Reachable), s => { Assert.Null(s.Error); Assert.NotNull(s.Latency); });
    }

    [Fact]
    public async Task A_silent_host_is_bounded_by_the_timeout()
    {
        var transport = new ScriptedTransport();
        var testbed = Testbed(transport, 3);
        transport.Hang("m1");
        var clock = Stopwatch.StartNew();

        var statuses = await Collect(ReachabilityProbe.Run(testbed.Machines, new ReachabilityOptions { Timeout = TimeSpan.FromMilliseconds(300) }, CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
        var silent = Assert.Single(statuses, s => !s.Reachable);
        Assert.Equal("m1", silent.Name);
        Assert.Equal(ErrorKind.HostUnreachable, silent.Error!.Kind);
        Assert.Contains("no answer within", silent.Error.Message);
    }

    [Fact]
    public async Task Waiting_polls_only_the_failing_hosts_until_they_answer()
    {
        var transport = new ScriptedTransport();
        var testbed = Testbed(transport, 5);
        transport.Script("m3", call => call < 3 ? Refused() : Up());

        var statuses = await Collect(ReachabilityProbe.Run(testbed.Machines,
            new ReachabilityOptions { Wait = true, Timeout = TimeSpan.FromSeconds(10), PollInterval = FastPoll }, CancellationToken.None));

        Assert.Equal(5, statuses.Count);
        Assert.All(statuses, s => Assert.True(s.Reachable));
        Assert.Equal(3, transport.Calls("m3"));
        Assert.Equal(3, statuses.Single(s => s.Name == "m3").Attempts);
        Assert.All(testbed.Machines.Where(m => m.Name != "m3"), m => Assert.Equal(1, transport.Calls(m.Name)));
        // The late host is reported last: the others stream out as soon as they answer.
        Assert.Equal("m3", statuses[^1].Name);
    }

    [Fact]
    public async Task Waiting_gives_up_after_the_timeout_with_the_last_failure()
    {
        var transport = new ScriptedTransport();
        var testbed = Testbed(transport, 3);
        transport.Script("m0", _ => Refused());
        var clock = Stopwatch.StartNew();

        var statuses = await Collect(ReachabilityProbe.Run(testbed.Machines,
            new ReachabilityOptions { Wait = true, Timeout = TimeSpan.FromMilliseconds(1500), PollInterval = FastPoll }, CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1450), TimeSpan.FromSeconds(15));
        var failed = Assert.Single(statuses, s => !s.Reachable);
        Assert.Equal("m0", failed.Name);
        Assert.True(transport.Calls("m0") >= 2, $"m0 was tried {transport.Calls("m0")} times");
        Assert.Equal(transport.Calls("m0"), failed.Attempts);
        Assert.Contains("Connection refused", failed.Error!.Message);
        Assert.Contains("gave up after", failed.Error.Message);
        Assert.All(testbed.Machines.Where(m => m.Name != "m0"), m => Assert.Equal(1, transport.Calls(m.Name)));
    }

    [Fact]
    public async Task Cancellation_ends_waiting_promptly_and_reports_every_host()
    {
        var transport = new ScriptedTransport();
        var testbed = Testbed(transport, 4);
        transport.Hang("m1");
        transport.Script("m2", _ => Refused());
        using var cts = new CancellationTokenSource();

        var reader = ReachabilityProbe.Run(testbed.Machines,
            new ReachabilityOptions { Wait = true, Timeout = TimeSpan.FromMinutes(5), PollInterval = FastPoll }, cts.Token);
        // Stop once the two good hosts are reported, while m1 still hangs (as Ctrl+C would).
        var statuses = new List<AgentMachineStatus>();
        var clock = new Stopwatch();
        await foreach (var status in reader.ReadAllAsync())
        {
            statuses.Add(status);
            if (statuses.Count(s => s.Reachable) == 2 && !clock.IsRunning)
            {
                clock.Start();
                cts.Cancel();
            }
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed} after cancellation");
        Assert.Equal(4, statuses.Count);
        Assert.Equal(2, statuses.Count(s => s.Reachable));
        Assert.Equal(ErrorKind.Cancelled, statuses.Single(s => s.Name == "m1").Error!.Kind);
        Assert.False(statuses.Single(s => s.Name == "m2").Reachable);
    }

    private static ConnectionCheck Up() => new() { Reachable = true, Latency = TimeSpan.FromMilliseconds(1), ConnectTime = TimeSpan.FromMilliseconds(5) };

    private static ConnectionCheck Refused() => new()
    {
        Reachable = false,
        FailureKind = ErrorKind.HostUnreachable,
        FailureMessage = "ssh: connect to host 127.0.0.1 port 2: Connection refused",
    };

    private static Testbed Testbed(ISshTransport transport, int count)
    {
        var machines = Enumerable.Range(0, count)
            .Select(i => new AgentMachine($"m{i}", "127.0.0.1", i, [], new ConnectionSettings()))
            .ToList();
        return new Testbed("probe", "Static", Path.GetTempPath(), machines, new Dictionary<string, IReadOnlyList<string>>(), transport);
    }

    private static async Task<List<AgentMachineStatus>> Collect(System.Threading.Channels.ChannelReader<AgentMachineStatus> reader)
    {
        var list = new List<AgentMachineStatus>();
        await foreach (var s in reader.ReadAllAsync()) list.Add(s);
        return list;
    }

    /// <summary>Answers ConnectAsync from a per-host script (default: reachable); counts calls.</summary>
    private sealed class ScriptedTransport : ISshTransport
    {
        private readonly ConcurrentDictionary<string, Func<int, ConnectionCheck>> _scripts = new();
        private readonly ConcurrentDictionary<string, bool> _hanging = new();
        private readonly ConcurrentDictionary<string, int> _calls = new();

        public void Script(string name, Func<int, ConnectionCheck> answer) => _scripts[name] = answer;
        public void Hang(string name) => _hanging[name] = true;
        public int Calls(string name) => _calls.GetValueOrDefault(name);

        public async Task<ConnectionCheck> ConnectAsync(AgentMachine machine, CancellationToken cancellationToken)
        {
            var call = _calls.AddOrUpdate(machine.Name, 1, (_, n) => n + 1);
            if (_hanging.ContainsKey(machine.Name)) await Task.Delay(Timeout.Infinite, cancellationToken);
            await Task.Yield();
            return _scripts.TryGetValue(machine.Name, out var answer) ? answer(call) : Up();
        }

        public Task<RemoteExecution> ExecuteAsync(AgentMachine machine, RemoteExecutionRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
        public int EffectivePort(AgentMachine machine) => machine.Connection.Port ?? 22;
        public Task CloseAsync(AgentMachine machine, CancellationToken cancellationToken) => Task.CompletedTask;
        public Task CloseAllAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
