using System.Text.RegularExpressions;

namespace Provisioning.Benchmarks;

/// <summary>
/// Checks that a peer really did the job on every host, from what it printed: each tool tags its output with the
/// host in its own way. Counting hosts rather than lines keeps a tool that printed twice for one host honest.
/// </summary>
internal static partial class PeerOutput
{
    /// <summary>Hosts parallel-ssh/scp/slurp reported as "[i] time [SUCCESS] host".</summary>
    public static ISet<string> PsshSucceeded(string stdout) => Matches(PsshSuccess(), stdout);

    /// <summary>Hosts that printed a line through clush ("host: output").</summary>
    public static ISet<string> ClushAnswered(string stdout, PeerHosts hosts)
    {
        var known = hosts.Agents.Select(a => a.Alias).ToHashSet(StringComparer.Ordinal);
        return stdout.Split('\n')
            .Select(l => l.Split(": ", 2))
            .Where(p => p.Length == 2 && p[1].Trim().Length > 0 && known.Contains(p[0]))
            .Select(p => p[0])
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Hosts on which an Ansible ad-hoc command returned rc=0 ("host | CHANGED | rc=0 >>").</summary>
    public static ISet<string> AnsibleCommandSucceeded(string stdout) => Matches(AnsibleRcZero(), stdout);

    /// <summary>Hosts for which an Ansible module reported success ("host | CHANGED =>" or "host | SUCCESS =>").</summary>
    public static ISet<string> AnsibleModuleSucceeded(string stdout) => Matches(AnsibleModuleOk(), stdout);

    /// <summary>Hosts of an ansible-playbook recap line with failed=0 and unreachable=0.</summary>
    public static ISet<string> AnsiblePlaybookSucceeded(string stdout) =>
        AnsibleRecap().Matches(stdout)
            .Where(m => m.Groups["unreachable"].Value == "0" && m.Groups["failed"].Value == "0")
            .Select(m => m.Groups["host"].Value)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Hosts of an ansible-playbook recap line with changed=0, failed=0 and unreachable=0 (an unchanged re-run).</summary>
    public static ISet<string> AnsiblePlaybookUnchanged(string stdout) =>
        AnsibleRecap().Matches(stdout)
            .Where(m => m.Groups["unreachable"].Value == "0" && m.Groups["failed"].Value == "0" && m.Groups["changed"].Value == "0")
            .Select(m => m.Groups["host"].Value)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Non-empty output lines (the floor loop: one `hostname` line per successful ssh).</summary>
    public static int NonEmptyLines(string stdout) => stdout.Split('\n').Count(l => l.Trim().Length > 0);

    /// <summary>Throws unless <paramref name="answered"/> holds all of <paramref name="hosts"/>.</summary>
    public static void RequireAll(ISet<string> answered, PeerHosts hosts, ProcessOutcome outcome)
    {
        var missing = hosts.Agents.Select(a => a.Alias).Where(a => !answered.Contains(a)).ToArray();
        if (missing.Length > 0 || outcome.TimedOut)
            throw new VerificationException(
                $"{hosts.Count - missing.Length}/{hosts.Count} hosts answered (first missing: {missing.FirstOrDefault() ?? "-"}); {outcome.Describe()}");
    }

    private static HashSet<string> Matches(Regex regex, string text) =>
        regex.Matches(text).Select(m => m.Groups["host"].Value).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"^\[\d+\] \S+ \[SUCCESS\] (?<host>\S+)", RegexOptions.Multiline)]
    private static partial Regex PsshSuccess();

    [GeneratedRegex(@"^(?<host>\S+) \| (CHANGED|SUCCESS) \| rc=0 >>", RegexOptions.Multiline)]
    private static partial Regex AnsibleRcZero();

    [GeneratedRegex(@"^(?<host>\S+) \| (CHANGED|SUCCESS) =>", RegexOptions.Multiline)]
    private static partial Regex AnsibleModuleOk();

    [GeneratedRegex(@"^(?<host>\S+)\s+: ok=\d+\s+changed=(?<changed>\d+)\s+unreachable=(?<unreachable>\d+)\s+failed=(?<failed>\d+)", RegexOptions.Multiline)]
    private static partial Regex AnsibleRecap();
}
