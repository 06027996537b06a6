using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioning.Core.Packages;

/// <summary>The tagged lines of a <see cref="PackageScripts"/> script, read once (see there for the tags).</summary>
internal sealed partial class PackageScriptOutput
{
    /// <summary>A file apt would fetch: where from, apt's archive name, its size, and its SHA-256 when the lists give one.</summary>
    public sealed record AptUri(Uri Uri, string File, long Size, string? Sha256);

    /// <summary>What the host's package lists say about one file.</summary>
    public sealed record AptFile(string Name, string Version, string FileName, string Sha256, long Size);

    /// <summary>The host's release codename (or version).</summary>
    public string Release { get; private set; } = "unknown";
    /// <summary>The host's dpkg architecture.</summary>
    public string Architecture { get; private set; } = "";
    /// <summary>dpkg state before (B) by package or argument: (status, version).</summary>
    public Dictionary<string, (string Status, string Version)> Before { get; } = new(StringComparer.Ordinal);
    /// <summary>dpkg state (S) by package or argument: (status, version).</summary>
    public Dictionary<string, (string Status, string Version)> States { get; } = new(StringComparer.Ordinal);
    /// <summary>pip's or npm's installed list after the script (F), by name.</summary>
    public Dictionary<string, string> Installed { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>pip's or npm's installed list before the script (B), by name.</summary>
    public Dictionary<string, string> InstalledBefore { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>The agent's own dry run: (package, version, architecture) it would install.</summary>
    public List<(string Name, string Version, string Architecture)> Planned { get; } = [];
    /// <summary>Files apt would fetch.</summary>
    public List<AptUri> Uris { get; } = [];
    /// <summary>Files in the host's package lists, by file name.</summary>
    public Dictionary<string, AptFile> ListedFiles { get; } = new(StringComparer.Ordinal);
    /// <summary>Files of the closure already in apt's archives on the host: file name to SHA-256.</summary>
    public Dictionary<string, string> InArchives { get; } = new(StringComparer.Ordinal);
    /// <summary>Files already staged on the host, by SHA-256.</summary>
    public HashSet<string> Staged { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Whether each repository origin answered the probe.</summary>
    public Dictionary<string, bool> Reachable { get; } = new(StringComparer.Ordinal);
    /// <summary>True when dpkg's database needed (or needs) <c>dpkg --configure -a</c>.</summary>
    public bool NeedsConfigure { get; private set; }
    /// <summary>True when an interrupted dpkg was repaired before installing.</summary>
    public bool Configured { get; private set; }
    /// <summary>The manager's errors (resolution).</summary>
    public List<string> Errors { get; } = [];
    /// <summary>The install's exit status; null when it did not run.</summary>
    public int? ExitCode { get; private set; }
    /// <summary>The install's last meaningful output lines.</summary>
    public List<string> Output { get; } = [];
    /// <summary>The manager's tool, when the host lacks it.</summary>
    public string? MissingTool { get; private set; }

    public static PackageScriptOutput Parse(string stdout, PackageManager manager)
    {
        var o = new PackageScriptOutput();
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length < 1) continue;
            var rest = line.Length > 2 ? line[2..] : "";
            switch (line[0])
            {
                case 'R':
                    var r = rest.Split(' ', 2);
                    o.Release = r[0];
                    o.Architecture = r.Length > 1 ? r[1] : "";
                    break;
                case 'S' or 'B' when manager == PackageManager.Apt:
                    var s = rest.Split(' ', 3);
                    if (s.Length >= 2) (line[0] == 'S' ? o.States : o.Before)[s[0]] = (s[1], s.Length > 2 ? s[2] : "");
                    break;
                case 'B':
                    AddInstalled(o.InstalledBefore, rest, manager);
                    break;
                case 'F' when manager == PackageManager.Apt:
                    o.Configured = true;
                    break;
                case 'F':
                    AddInstalled(o.Installed, rest, manager);
                    break;
                case 'I':
                    var i = Inst().Match(rest);
                    if (i.Success) o.Planned.Add((i.Groups[1].Value, i.Groups[2].Value, i.Groups[3].Value));
                    else if (rest.StartsWith("Remv ", StringComparison.Ordinal)) o.Planned.Add((rest.Split(' ')[1], "", ""));
                    break;
                case 'U':
                    var u = Uri().Match(rest);
                    if (u.Success && System.Uri.TryCreate(u.Groups[1].Value, UriKind.Absolute, out var uri))
                    {
                        var hash = u.Groups[4].Value;
                        var sha = hash.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase) ? hash[7..] : null;
                        o.Uris.Add(new AptUri(uri, u.Groups[2].Value, long.Parse(u.Groups[3].Value, CultureInfo.InvariantCulture), sha));
                    }
                    break;
                case 'C':
                    var c = rest.Split(' ');
                    if (c.Length >= 5 && c[3].Length == 64)
                        o.ListedFiles[Path.GetFileName(c[2])] = new AptFile(c[0], c[1], c[2], c[3], long.TryParse(c[4], out var size) ? size : 0);
                    break;
                case 'K':
                    var k = rest.Split(' ');
                    if (k.Length == 2 && k[1].Length == 64) o.InArchives[k[0]] = k[1];
                    break;
                case 'H':
                    var h = rest.Split(' ', 2);
                    if (h[0].Length == 64) o.Staged.Add(h[0]);
                    break;
                case 'N':
                    var n = rest.Split(' ');
                    if (n.Length == 2) o.Reachable[n[0]] = n[1] == "1";
                    break;
                case 'A':
                    o.NeedsConfigure = true;
                    break;
                case 'E':
                    if (rest.Trim().Length > 0) o.Errors.Add(rest.Trim());
                    break;
                case 'X':
                    o.ExitCode = int.TryParse(rest, out var x) ? x : null;
                    break;
                case 'O':
                    o.Output.Add(rest.Trim());
                    break;
                case 'Z':
                    o.MissingTool = rest;
                    break;
            }
        }
        // The packages the closure holds, from apt's archive names (name_version_arch.deb, ':' written %3a).
        foreach (var uri in o.Uris)
        {
            var parts = uri.File.EndsWith(".deb", StringComparison.Ordinal) ? uri.File[..^4].Split('_') : [];
            if (parts.Length == 3) o.Planned.Add((parts[0], System.Uri.UnescapeDataString(parts[1]), parts[2]));
        }
        return o;
    }

    /// <summary>The version apt has installed of <paramref name="key"/>, or null.</summary>
    public string? InstalledVersion(string key) => States.TryGetValue(key, out var s) && s.Status == "installed" ? s.Version : null;

    // pip: "name==version" (or "name @ url"); npm: "/prefix/lib/node_modules/name:name@version".
    private static void AddInstalled(Dictionary<string, string> into, string text, PackageManager manager)
    {
        if (manager == PackageManager.Pip)
        {
            var eq = text.IndexOf("==", StringComparison.Ordinal);
            if (eq > 0) into[PackageRequest.NormalizePip(text[..eq])] = text[(eq + 2)..].Trim();
            else if (text.IndexOf(" @ ", StringComparison.Ordinal) is var at and > 0) into[PackageRequest.NormalizePip(text[..at])] = "";
            return;
        }
        var colon = text.LastIndexOf(':');
        if (colon < 0) return;
        var spec = text[(colon + 1)..];
        var version = spec.LastIndexOf('@');
        if (version > 0) into[spec[..version]] = spec[(version + 1)..];
    }

    [GeneratedRegex(@"^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*?\[([^\]]+)\]\)", RegexOptions.CultureInvariant)]
    private static partial Regex Inst();

    [GeneratedRegex(@"^'([^']+)' (\S+) (\d+) ?(\S*)", RegexOptions.CultureInvariant)]
    private static partial Regex Uri();
}
