using System.Security.Cryptography;
using System.Text;

namespace Provisioning.Core.Transport;

/// <summary>What a known_hosts lookup found for a host and the key it presented.</summary>
public enum HostKeyVerdict
{
    /// <summary>A line names the host with exactly this key.</summary>
    Known,
    /// <summary>No line names the host with a key of this type: refused unless new keys are trusted.</summary>
    Unknown,
    /// <summary>Lines name the host with another key of the same type: always refused.</summary>
    Changed,
    /// <summary>A <c>@revoked</c> line holds this key: always refused.</summary>
    Revoked,
    /// <summary>A <c>@cert-authority</c> line names the host: only OpenSSH can check its certificate.</summary>
    NeedsCertificateAuthority,
}

/// <summary>
/// The known_hosts files OpenSSH would read for one connection, read as OpenSSH reads them: plain and hashed
/// (<c>|1|salt|hmac</c>) names, <c>[host]:port</c> for ports other than 22, <c>*</c>/<c>?</c> wildcards and
/// <c>!</c> negation in comma-separated patterns, and the <c>@revoked</c> and <c>@cert-authority</c> markers.
/// Used by the in-process transport, which has no ssh-keygen to ask and must be exactly as strict.
/// </summary>
public sealed class KnownHosts
{
    private readonly List<Entry> _entries = new();

    private sealed record Entry(string? Marker, string Patterns, string KeyType, byte[] Key, string File, int Line);

    /// <summary>Reads every existing file of <paramref name="files"/>, in order; missing files are skipped.</summary>
    public static KnownHosts Read(IEnumerable<string> files)
    {
        var known = new KnownHosts();
        foreach (var file in files)
        {
            if (!File.Exists(file)) continue;
            var number = 0;
            foreach (var raw in File.ReadLines(file))
            {
                number++;
                if (ParseLine(raw, file, number) is { } entry) known._entries.Add(entry);
            }
        }
        return known;
    }

    private static Entry? ParseLine(string raw, string file, int number)
    {
        var line = raw.Trim();
        if (line.Length == 0 || line[0] == '#') return null;
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        string? marker = null;
        var next = 0;
        if (fields[0].StartsWith('@')) { marker = fields[0]; next = 1; }
        if (fields.Length < next + 3) return null;
        try
        {
            return new Entry(marker, fields[next], fields[next + 1], Convert.FromBase64String(fields[next + 2]), file, number);
        }
        catch (FormatException)
        {
            return null; // OpenSSH skips a line it cannot parse too.
        }
    }

    /// <summary>
    /// The name OpenSSH looks a host up by: the host itself on port 22, <c>[host]:port</c> on any other port.
    /// </summary>
    public static string LookupName(string host, int port) =>
        port == 22 ? host.ToLowerInvariant() : $"[{host.ToLowerInvariant()}]:{port}";

    /// <summary>The key types the files know for the host, so the client can offer those first (as OpenSSH does).</summary>
    public IReadOnlyList<string> KeyTypesFor(string lookupName) =>
        _entries.Where(e => e.Marker is null && Matches(e.Patterns, lookupName)).Select(e => e.KeyType).Distinct().ToArray();

    /// <summary>True when a <c>@cert-authority</c> line applies to the host.</summary>
    public bool HasCertificateAuthorityFor(string lookupName) =>
        _entries.Any(e => string.Equals(e.Marker, "@cert-authority", StringComparison.Ordinal) && Matches(e.Patterns, lookupName));

    /// <summary>Checks the key blob (the SSH wire encoding, as in a known_hosts line) the host presented.</summary>
    public HostKeyVerdict Check(string lookupName, byte[] keyBlob)
    {
        var keyType = KeyTypeOf(keyBlob);
        if (_entries.Any(e => string.Equals(e.Marker, "@revoked", StringComparison.Ordinal) && e.Key.AsSpan().SequenceEqual(keyBlob)))
            return HostKeyVerdict.Revoked;
        var sameType = _entries.Where(e => e.Marker is null && e.KeyType == keyType && Matches(e.Patterns, lookupName)).ToArray();
        if (sameType.Any(e => e.Key.AsSpan().SequenceEqual(keyBlob))) return HostKeyVerdict.Known;
        if (HasCertificateAuthorityFor(lookupName)) return HostKeyVerdict.NeedsCertificateAuthority;
        return sameType.Length > 0 ? HostKeyVerdict.Changed : HostKeyVerdict.Unknown;
    }

    /// <summary>Where the lines that name the host with another key are (for the changed-key message).</summary>
    public IEnumerable<string> LinesFor(string lookupName, byte[] keyBlob)
    {
        var keyType = KeyTypeOf(keyBlob);
        return _entries.Where(e => e.Marker is null && e.KeyType == keyType && Matches(e.Patterns, lookupName)).Select(e => $"{e.File}:{e.Line}");
    }

    /// <summary>Appends the host's key as <c>StrictHostKeyChecking=accept-new</c> does (an unhashed line).</summary>
    public static void Append(string file, string lookupName, byte[] keyBlob)
    {
        var directory = Path.GetDirectoryName(file);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var line = $"{lookupName} {KeyTypeOf(keyBlob)} {Convert.ToBase64String(keyBlob)}\n";
        var needsNewline = File.Exists(file) && new FileInfo(file).Length > 0 && !File.ReadAllText(file).EndsWith('\n');
        File.AppendAllText(file, (needsNewline ? "\n" : "") + line);
    }

    /// <summary>The key type named at the start of a key blob (<c>ssh-ed25519</c>, <c>ssh-rsa</c>...).</summary>
    public static string KeyTypeOf(byte[] keyBlob)
    {
        if (keyBlob.Length < 4) return "";
        var length = (keyBlob[0] << 24) | (keyBlob[1] << 16) | (keyBlob[2] << 8) | keyBlob[3];
        return length > 0 && length <= keyBlob.Length - 4 ? Encoding.ASCII.GetString(keyBlob, 4, length) : "";
    }

    /// <summary>OpenSSH's pattern-list match: a negated pattern that matches wins; else any positive match.</summary>
    internal static bool Matches(string patterns, string lookupName)
    {
        if (patterns.StartsWith("|1|", StringComparison.Ordinal)) return HashedMatches(patterns, lookupName);
        var matched = false;
        foreach (var pattern in patterns.Split(','))
        {
            if (pattern.Length == 0) continue;
            var negated = pattern[0] == '!';
            var body = negated ? pattern[1..] : pattern;
            if (!Wildcard(body.ToLowerInvariant(), lookupName)) continue;
            if (negated) return false;
            matched = true;
        }
        return matched;
    }

    private static bool HashedMatches(string field, string lookupName)
    {
        var parts = field.Split('|');
        if (parts.Length != 4) return false;
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var actual = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(lookupName));
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary><c>*</c> is any run of characters, <c>?</c> one character (match_pattern in OpenSSH).</summary>
    private static bool Wildcard(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { p++; t++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
