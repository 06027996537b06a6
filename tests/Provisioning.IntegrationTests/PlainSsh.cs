using System.Diagnostics;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.IntegrationTests;

/// <summary>
/// Runs the system ssh client with exactly the settings a machine carries (key, known_hosts, port, user),
/// strict host keys and BatchMode, without going through the module's transport.
/// </summary>
public static class PlainSsh
{
    /// <summary>What one ssh call did.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>
    /// Runs <paramref name="command"/> on <paramref name="machine"/>; <paramref name="knownHostsFile"/> overrides the machine's,
    /// <paramref name="extraArguments"/> go before the destination (for example <c>-o ControlMaster=auto</c>).
    /// </summary>
    public static async Task<Result> RunAsync(
        AgentMachine machine, string command, string? knownHostsFile = null, TimeSpan? timeout = null, IEnumerable<string>? extraArguments = null)
    {
        var start = StartInfo(machine, command, knownHostsFile, extraArguments);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"ssh to {machine.Name} did not finish: {command}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The ssh process for <paramref name="command"/> (for callers that keep it running).</summary>
    public static ProcessStartInfo StartInfo(AgentMachine machine, string command, string? knownHostsFile = null, IEnumerable<string>? extraArguments = null)
    {
        var c = machine.Connection;
        var configFile = ((TransportRouter)machine.Testbed!.Transport).OpenSsh.Options.ConfigFile!;
        var start = new ProcessStartInfo("ssh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[]
                 {
                     "-F", configFile, "-i", c.IdentityFile!, "-o", "UserKnownHostsFile=" + (knownHostsFile ?? c.KnownHostsFile),
                     "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                 }.Concat(extraArguments ?? []).Concat(["-p", machine.Port.ToString(), "-l", machine.User!, machine.Address, command]))
        {
            start.ArgumentList.Add(a);
        }
        return start;
    }
}
