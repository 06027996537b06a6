using System.Diagnostics;
using System.Text.Json;

namespace Provisioning.PowerShellTests;

/// <summary>
/// Separate pwsh processes for the tests that need a session of their own (one to kill, one to come back in): the
/// repository's local tool (<c>dotnet tool restore</c>), run with dotnet directly, with the built module imported.
/// </summary>
internal static class PwshSession
{
    /// <summary>How long a session may take to answer.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static Process Start(string pwsh, string script, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = RepositoryPaths.Root };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        foreach (var a in new[] { pwsh, "-NoProfile", "-NonInteractive", "-Command", $"Import-Module '{RepositoryPaths.ModuleManifest}'; " + script })
            start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>
    /// Starts a session that owns a Local testbed of <paramref name="count"/> agents and stays alive, and returns it
    /// with a static testbed file (in <paramref name="directory"/>) that reaches the same agents from other sessions.
    /// </summary>
    public static (Process Owner, string TestbedFile) StartAgentOwner(string pwsh, int count, string directory, string name)
    {
        var owner = Start(pwsh,
            $"$tb = New-Testbed -Provider Local -Count {count}; " +
            "Get-AgentMachine | ForEach-Object { @{ address = $_.Address; port = $_.Port; user = $_.User; key = $_.Connection.IdentityFile; known = $_.Connection.KnownHostsFile } | ConvertTo-Json -Compress }; " +
            "'ready'; Start-Sleep 600");
        var agents = new List<JsonElement>();
        try
        {
            for (var line = ReadLine(owner); line != "ready"; line = ReadLine(owner))
                agents.Add(JsonDocument.Parse(line).RootElement.Clone());
            Assert.Equal(count, agents.Count);
        }
        catch
        {
            StopAgentOwner(owner);
            throw;
        }
        var yaml = Path.Combine(directory, "agents.yaml");
        File.WriteAllLines(yaml, new[]
        {
            $"name: {name}",
            "state_dir: ./state",
            "defaults:",
            $"  user: {agents[0].GetProperty("user").GetString()}",
            $"  identity_file: {agents[0].GetProperty("key").GetString()}",
            $"  known_hosts: {agents[0].GetProperty("known").GetString()}",
            "hosts:",
        }.Concat(agents.Select((a, i) => $"  a{i}: {{ address: {a.GetProperty("address").GetString()}, port: {a.GetProperty("port").GetInt32()} }}")));
        return (owner, yaml);
    }

    /// <summary>Ends an owner session: its crash guard removes the agents.</summary>
    public static void StopAgentOwner(Process owner)
    {
        owner.StandardInput.Close();
        owner.Kill();
        owner.WaitForExit(10000);
        owner.Dispose();
    }

    public static string ReadLine(Process process)
    {
        var line = process.StandardOutput.ReadLineAsync();
        Assert.True(line.Wait(Patience), "the PowerShell session did not answer in time");
        return line.Result ?? throw new Xunit.Sdk.XunitException("the PowerShell session ended: " + process.StandardError.ReadToEnd());
    }

    public static bool IsRoot() =>
        File.ReadAllLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t')[1] == "0");

    // The pwsh of the local tool manifest (.config/dotnet-tools.json), run with dotnet directly so that the process
    // killed is PowerShell itself, not a launcher in front of it.
    public static string? Dll()
    {
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Root, ".config", "dotnet-tools.json")));
        var version = manifest.RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString()!;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var tools = Path.Combine(packages, "powershell", version, "tools");
        return Directory.Exists(tools) ? Directory.GetFiles(tools, "pwsh.dll", SearchOption.AllDirectories).FirstOrDefault(p => p.Contains("unix", StringComparison.Ordinal)) : null;
    }

    public static IEnumerable<(int Pid, string CommandLine)> Processes()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (File.ReadAllText(Path.Combine(dir, "stat")).Split(") ")[^1].StartsWith('Z')) continue;
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            yield return (pid, text);
        }
    }
}
