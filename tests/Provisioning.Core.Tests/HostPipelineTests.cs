using System.Collections;
using System.Text.Json;
using Provisioning.Core.Errors;
using Provisioning.Core.Execution;
using Provisioning.Core.Journal;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transfer;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Tests;

/// <summary>The parts of the host-operation pipeline that every capability shares: statuses, fault mapping, redaction, the port.</summary>
public sealed class HostPipelineTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly AgentMachine Host = new("h1", "127.0.0.1", 0, [], new ConnectionSettings { Port = 2200 });

    public static TheoryData<ExecutionOutcome, ErrorKind?, HostStatus, ErrorKind> Outcomes => new()
    {
        { ExecutionOutcome.ConnectionFailed, ErrorKind.HostUnreachable, HostStatus.Unreachable, ErrorKind.HostUnreachable },
        { ExecutionOutcome.ConnectionFailed, ErrorKind.HostKeyVerificationFailed, HostStatus.Unreachable, ErrorKind.HostKeyVerificationFailed },
        { ExecutionOutcome.ConnectionFailed, null, HostStatus.Unreachable, ErrorKind.HostUnreachable },
        { ExecutionOutcome.ConnectionLost, ErrorKind.ConnectionLost, HostStatus.Unreachable, ErrorKind.ConnectionLost },
        { ExecutionOutcome.TimedOut, null, HostStatus.TimedOut, ErrorKind.CommandTimedOut },
        { ExecutionOutcome.Cancelled, null, HostStatus.Cancelled, ErrorKind.Cancelled },
    };

    [Theory]
    [MemberData(nameof(Outcomes))]
    public void An_execution_outcome_reads_the_same_for_a_command_and_a_transfer(ExecutionOutcome outcome, ErrorKind? failureKind, HostStatus status, ErrorKind kind)
    {
        var execution = new RemoteExecution { Outcome = outcome, FailureKind = failureKind, FailureMessage = "ssh said why", ExitCode = outcome == ExecutionOutcome.ConnectionLost ? 255 : null };
        var asCommand = HostFailure.FromExecution(Host, execution, "command", TimeSpan.FromSeconds(1), _ => new HostError(ErrorKind.CommandFailed, "x"));
        var asTransfer = TransferFailure.FromExecution(Host, execution, "fetching 'out/*'", TimeSpan.FromSeconds(1));

        Assert.Equal(status, asCommand.Status);
        Assert.Equal(status, asTransfer.Status);
        Assert.Equal(kind, asCommand.Error!.Kind);
        Assert.Equal(kind, asTransfer.Error!.Kind);
        Assert.StartsWith("h1", asCommand.Error.Message);
        Assert.StartsWith("h1", asTransfer.Error.Message);
    }

    [Fact]
    public void Only_a_non_zero_exit_is_explained_by_the_operation_itself()
    {
        var exited = new RemoteExecution { Outcome = ExecutionOutcome.Exited, ExitCode = 1, Stderr = "tar: out: No space left on device\n" };
        Assert.Equal(ErrorKind.DiskFull, TransferFailure.FromExecution(Host, exited, "writing into 'in'", null).Error!.Kind);
        Assert.Equal(ErrorKind.CommandFailed, HostFailure.FromExecution(Host, exited, "command", null, _ => new HostError(ErrorKind.CommandFailed, "x")).Error!.Kind);
        Assert.Equal((HostStatus.Succeeded, (HostError?)null),
            HostFailure.FromExecution(Host, new RemoteExecution { Outcome = ExecutionOutcome.Exited, ExitCode = 0 }, "command", null, _ => throw new InvalidOperationException()));
    }

    [Theory]
    [InlineData(ErrorKind.HostUnreachable, HostStatus.Unreachable)]
    [InlineData(ErrorKind.AuthenticationFailed, HostStatus.Unreachable)]
    [InlineData(ErrorKind.HostKeyVerificationFailed, HostStatus.Unreachable)]
    [InlineData(ErrorKind.ConnectionLost, HostStatus.Unreachable)]
    [InlineData(ErrorKind.CommandTimedOut, HostStatus.TimedOut)]
    [InlineData(ErrorKind.Cancelled, HostStatus.Cancelled)]
    [InlineData(ErrorKind.TemplateVariableUndefined, HostStatus.TemplateError)]
    [InlineData(ErrorKind.TemplateSyntax, HostStatus.TemplateError)]
    [InlineData(ErrorKind.DiskFull, HostStatus.Failed)]
    [InlineData(ErrorKind.Internal, HostStatus.Failed)]
    public void An_error_kind_has_one_status_everywhere(ErrorKind kind, HostStatus status) => Assert.Equal(status, HostFailure.StatusOf(kind));

    [Fact]
    public void An_exception_is_read_as_a_kind_in_one_place()
    {
        Assert.Equal(ErrorKind.HostUnreachable, HostError.KindOf(new ProvisioningException(ErrorKind.HostUnreachable, "x")));
        Assert.Equal(ErrorKind.Cancelled, HostError.KindOf(new OperationCanceledException()));
        Assert.Equal(ErrorKind.Cancelled, HostError.KindOf(new AggregateException(new TaskCanceledException())));
        Assert.Equal(ErrorKind.LocalPathNotFound, HostError.KindOf(new FileNotFoundException()));
        Assert.Equal(ErrorKind.PermissionDenied, HostError.KindOf(new UnauthorizedAccessException()));
        Assert.Equal(ErrorKind.Internal, HostError.KindOf(new InvalidOperationException()));
        var (status, error) = HostFailure.FromException(Host, new ProvisioningException(ErrorKind.ConnectionLost, "gone"));
        Assert.Equal(HostStatus.Unreachable, status);
        Assert.Equal("h1: gone", error.Message);
    }

    [Theory]
    [InlineData("password")]
    [InlineData("db_passwd")]
    [InlineData("KeyPassphrase")]
    [InlineData("client_secret")]
    [InlineData("ApiToken")]
    [InlineData("Credential")]
    [InlineData("ssh_key")]
    public void One_list_of_secret_names_redacts_at_every_depth(string name)
    {
        Assert.True(SecretNames.IsSecret(name));
        var json = RedactedParameters.ToJson(new Dictionary<string, object?>
        {
            [name] = "hunter2",
            ["Variable"] = new Hashtable { [name] = "hunter2", ["deep"] = new Hashtable { [name] = "hunter2" } },
            ["ThrottleLimit"] = 4,
        });
        Assert.DoesNotContain("hunter2", json);
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(SecretNames.Placeholder, root.GetProperty(name).GetString());
        Assert.Equal(SecretNames.Placeholder, root.GetProperty("Variable").GetProperty("deep").GetProperty(name).GetString());
        Assert.Equal(4, root.GetProperty("ThrottleLimit").GetInt32());
    }

    [Theory]
    [InlineData("Command")]
    [InlineData("Destination")]
    [InlineData("user")]
    public void Ordinary_names_are_kept(string name) => Assert.False(SecretNames.IsSecret(name));

    [Fact]
    public void Port_renders_what_ssh_config_decides_when_the_testbed_leaves_it_unset()
    {
        var config = _dir.Combine("ssh_config");
        File.WriteAllText(config, "Host aliased\n    Port 2222\n");
        var transport = new OpenSshTransport(new OpenSshOptions { ControlDirectory = _dir.Combine("cm"), ConfigFile = config });
        var aliased = new AgentMachine("aliased", "aliased", 0, [], new ConnectionSettings());
        var plain = new AgentMachine("plain", "plain", 1, [], new ConnectionSettings());
        var pinned = new AgentMachine("pinned", "aliased", 2, [], new ConnectionSettings { Port = 2200 });
        _ = new Testbed("ports", TestbedLoader.ProviderName, _dir.Path, [aliased, plain, pinned], new Dictionary<string, IReadOnlyList<string>>(), transport);

        var renderer = new TemplateRenderer();
        Assert.Equal("2222", renderer.Render("{{ port }}", aliased, null));
        Assert.Equal("aliased:2222", aliased.Endpoint);
        Assert.Equal("22", renderer.Render("{{ port }}", plain, null));
        Assert.Equal("2200", renderer.Render("{{ port }}", pinned, null));
    }
}
