using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// The network namespace of a Local testbed started with <c>-Network Offline</c>: only a loopback interface, no
/// route out, no bridge, no NAT. Agents join it, so they reach each other at their 127.x addresses and nothing
/// else. A small holder process keeps it alive (its command line names the state folder, so the crash guard can
/// find it); ssh reaches the agents through a relay that enters it (<see cref="ProxyCommand"/>).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class OfflineNetwork
{
    // Brings lo up (a new namespace's lo is down), says so, then waits for ever; killed when the testbed goes. The
    // shell stays (no exec), so its command line keeps the marker the crash guard looks for.
    private const string HolderScript = "ip link set lo up && echo up && sleep infinity";

    private OfflineNetwork(Process holder) => Holder = holder;

    /// <summary>The holder process.</summary>
    public Process Holder { get; }

    /// <summary>Where nsenter finds the namespace.</summary>
    public string NamespacePath => $"/proc/{Holder.Id.ToString(CultureInfo.InvariantCulture)}/ns/net";

    /// <summary>
    /// The ssh_config ProxyCommand that carries a connection into the namespace: nsenter, then bash's /dev/tcp and two
    /// cats. Only master connections use it; every later command is multiplexed over the master.
    /// </summary>
    public string ProxyCommand(string nsenter) =>
        $"{nsenter} --net={NamespacePath} /bin/bash -c 'exec 3<>/dev/tcp/$0/$1 && {{ cat <&3 & exec cat >&3; }}' %h %p";

    /// <summary>Creates the namespace; <paramref name="marker"/> (the state folder) goes on the holder's command line.</summary>
    public static OfflineNetwork Create(string marker)
    {
        var unshare = SshdLauncher.FindProgram("unshare") ?? throw new InvalidOperationException("unshare is not installed.");
        var start = new ProcessStartInfo(unshare)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var a in new[] { "--net", "--", "/bin/sh", "-c", HolderScript, "provisioning-offline-network", marker }) start.ArgumentList.Add(a);
        var holder = Process.Start(start) ?? throw new InvalidOperationException("The offline network's holder did not start.");
        var ready = holder.StandardOutput.ReadLineAsync();
        if (!ready.Wait(TimeSpan.FromSeconds(10)) || ready.Result != "up")
        {
            var why = holder.HasExited ? holder.StandardError.ReadToEnd().Trim() : "no answer within 10 s";
            try { holder.Kill(); } catch (InvalidOperationException) { }
            holder.Dispose();
            throw new Errors.ProvisioningException(Errors.ErrorKind.ProviderFailed, $"The offline network could not be made: {why}");
        }
        return new OfflineNetwork(holder);
    }
}
