using System.Globalization;

namespace Provisioning.Core.Transfer;

/// <summary>What <see cref="TransferScripts.Probe"/> found at a send's destination on one host.</summary>
internal sealed class RemoteProbe
{
    private RemoteProbe(char kind, Dictionary<string, string> hashes, Dictionary<string, int> modes)
    {
        Kind = kind;
        Hashes = hashes;
        Modes = modes;
    }

    /// <summary>'D': a directory; 'F': something else (a file); 'N': nothing.</summary>
    public char Kind { get; }
    /// <summary>SHA-256 per name (relative to the destination for 'D'; the one file for 'F').</summary>
    public IReadOnlyDictionary<string, string> Hashes { get; }
    /// <summary>Permission bits (stat %a) per name.</summary>
    public IReadOnlyDictionary<string, int> Modes { get; }

    public bool IsDirectory => Kind == 'D';
    public bool IsFile => Kind == 'F';

    /// <summary>For 'F': the file's hash and mode, whatever name the host printed for it.</summary>
    public (string? Sha256, int? Mode) Single() =>
        (Hashes.Values.FirstOrDefault(), Modes.Count > 0 ? Modes.Values.First() : null);

    /// <summary>
    /// Parses the NUL-separated records: the kind first, then <c>sha256sum -z</c> records (<c>&lt;64 hex&gt;  name</c>)
    /// and <c>M&lt;octal&gt; name</c> records, in any order. Returns null for output that is not a probe's.
    /// </summary>
    public static RemoteProbe? Parse(string output)
    {
        var records = output.Split('\0');
        if (records.Length == 0 || records[0] is not ("D" or "F" or "N")) return null;
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var modes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var record in records.Skip(1))
        {
            if (record.Length == 0) continue;
            if (record[0] == 'M')
            {
                var space = record.IndexOf(' ');
                if (space < 2) continue;
                try
                {
                    modes[record[(space + 1)..]] = Convert.ToInt32(record[1..space], 8);
                }
                catch (FormatException)
                {
                }
            }
            else if (record.Length > 66 && record[64] == ' ' && (record[65] is ' ' or '*') && IsHex(record.AsSpan(0, 64)))
            {
                hashes[record[66..]] = record[..64].ToLowerInvariant();
            }
        }
        return new RemoteProbe(records[0][0], hashes, modes);
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Kind}: {Hashes.Count} hashes, {Modes.Count} modes");
}
