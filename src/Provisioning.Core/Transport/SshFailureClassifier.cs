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

    /// <summary>ssh's lines only (warnings and errors), joined, for messages.</summary>
    public static string Explain(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "ssh exited with code 255 and said nothing." : string.Join(" ", lines.TakeLast(3));
    }
}
