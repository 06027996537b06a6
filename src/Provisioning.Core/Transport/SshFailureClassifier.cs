using Provisioning.Core.Errors;

namespace Provisioning.Core.Transport;

/// <summary>Reads ssh's own diagnostics (it exits 255 for all of them) to tell why a connection failed.</summary>
internal static class SshFailureClassifier
{
    private static readonly (string Needle, ErrorKind Kind)[] Signatures =
    {
        ("Host key verification failed", ErrorKind.HostKeyVerificationFailed),
        ("REMOTE HOST IDENTIFICATION HAS CHANGED", ErrorKind.HostKeyVerificationFailed),
        ("host key for", ErrorKind.HostKeyVerificationFailed),
        ("No ED25519 host key is known", ErrorKind.HostKeyVerificationFailed),
        ("host key is known for", ErrorKind.HostKeyVerificationFailed),
        ("Permission denied (", ErrorKind.AuthenticationFailed),
        ("Too many authentication failures", ErrorKind.AuthenticationFailed),
        ("Load key", ErrorKind.AuthenticationFailed),
        ("no such identity", ErrorKind.AuthenticationFailed),
    };

    private static readonly string[] LostSignatures =
    {
        "Connection to ", // "Connection to x closed by remote host."
        "client_loop: send disconnect",
        "Broken pipe",
        "mux_client_read_packet",
        "Connection reset by peer",
        "closed by remote host",
    };

    /// <summary>The kind of a connection failure, from ssh's stderr.</summary>
    public static ErrorKind Classify(string stderr)
    {
        foreach (var (needle, kind) in Signatures)
            if (stderr.Contains(needle, StringComparison.OrdinalIgnoreCase)) return kind;
        return ErrorKind.HostUnreachable;
    }

    /// <summary>True when stderr says an established connection dropped.</summary>
    public static bool LooksLost(string stderr) =>
        LostSignatures.Any(s => stderr.Contains(s, StringComparison.OrdinalIgnoreCase));

    // Lines that name a cause. ssh prints the cause first and then how the connection ended; through a jump, the
    // end ("kex_exchange_identification: Connection closed by remote host", "UNKNOWN port 65535") hides the cause.
    private static readonly string[] CauseSignatures =
    {
        "Could not resolve hostname", "Connection refused", "Connection timed out", "timed out", "No route to host",
        "Network is unreachable", "open failed", "stdio forwarding failed", "Bad configuration option", "Bad owner or permissions",
    };

    private static readonly string[] EndSignatures =
    {
        "kex_exchange_identification", "UNKNOWN port 65535", "banner exchange", "Connection closed by",
    };

    /// <summary>
    /// The lines of ssh's diagnostics that say why it failed, joined, for messages: every line is read, the ones
    /// naming a cause come first, and the lines that only say how the connection ended are left out when a cause is
    /// known.
    /// </summary>
    public static string Explain(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Trim('@', ' ').Length > 0).ToArray();
        if (lines.Length == 0) return "ssh exited with code 255 and said nothing.";
        var causes = lines.Where(l => Signatures.Any(s => l.Contains(s.Needle, StringComparison.OrdinalIgnoreCase)) ||
                                      CauseSignatures.Any(s => l.Contains(s, StringComparison.OrdinalIgnoreCase)))
            .Distinct().ToArray();
        if (causes.Length > 0) return string.Join(" ", causes.TakeLast(3));
        var rest = lines.Where(l => !EndSignatures.Any(s => l.Contains(s, StringComparison.OrdinalIgnoreCase))).ToArray();
        return string.Join(" ", (rest.Length > 0 ? rest : lines).TakeLast(3));
    }
}
