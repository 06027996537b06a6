using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Provisioning.Core.Packages;

/// <summary>Reads a wheel's name, version and requirements (from its file name and <c>METADATA</c>), with no Python.</summary>
internal static partial class WheelFile
{
    /// <summary>The cache entry of the wheel at <paramref name="path"/>; null when it is not a wheel.</summary>
    public static PackageCacheEntry? Describe(string path, string relative)
    {
        var parts = Path.GetFileNameWithoutExtension(path).Split('-');
        if (parts.Length < 5) return null;
        return new PackageCacheEntry
        {
            Manager = PackageManager.Pip,
            Name = parts[0],
            Version = parts[1],
            Architecture = string.Join('-', parts[^3..]),
            Sha256 = Sha256(path),
            Size = new FileInfo(path).Length,
            File = relative,
            Requires = Requirements(path),
        };
    }

    // Requires-Dist lines without an extra marker: the closure pip will ask for when the wheel is installed.
    private static string[] Requirements(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var metadata = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith(".dist-info/METADATA", StringComparison.Ordinal));
            if (metadata is null) return [];
            using var reader = new StreamReader(metadata.Open());
            var names = new List<string>();
            for (var line = reader.ReadLine(); line is not null && line.Length > 0; line = reader.ReadLine())
            {
                if (!line.StartsWith("Requires-Dist:", StringComparison.OrdinalIgnoreCase)) continue;
                var value = line["Requires-Dist:".Length..].Trim();
                if (value.Contains("extra ==", StringComparison.Ordinal) || value.Contains("extra==", StringComparison.Ordinal)) continue;
                var name = RequirementName().Match(value);
                if (name.Success) names.Add(name.Value);
            }
            return names.ToArray();
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            return [];
        }
    }

    internal static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._\-]*", RegexOptions.CultureInvariant)]
    private static partial Regex RequirementName();
}

/// <summary>Reads an npm tarball's name, version and dependencies from its <c>package/package.json</c>.</summary>
internal static class NpmTarball
{
    /// <summary>The cache entry of the tarball at <paramref name="path"/>; null when it is not an npm package.</summary>
    public static PackageCacheEntry? Describe(string path, string relative)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.Name.TrimStart('.', '/') != "package/package.json" || entry.DataStream is null) continue;
                using var json = JsonDocument.Parse(entry.DataStream);
                var root = json.RootElement;
                var requires = root.TryGetProperty("dependencies", out var deps) && deps.ValueKind == JsonValueKind.Object
                    ? deps.EnumerateObject().Select(p => p.Name).ToArray() : [];
                return new PackageCacheEntry
                {
                    Manager = PackageManager.Npm,
                    Name = root.GetProperty("name").GetString() ?? "",
                    Version = root.GetProperty("version").GetString() ?? "",
                    Sha256 = WheelFile.Sha256(path),
                    Size = new FileInfo(path).Length,
                    File = relative,
                    Requires = requires,
                };
            }
            return null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>Orders version strings the way people read them: numeric runs as numbers, the rest as text.</summary>
internal sealed partial class VersionOrder : IComparer<string>
{
    public static readonly VersionOrder Instance = new();

    public int Compare(string? x, string? y)
    {
        var a = Parts().Matches(x ?? "");
        var b = Parts().Matches(y ?? "");
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var (p, q) = (a[i].Value, b[i].Value);
            var c = long.TryParse(p, out var m) && long.TryParse(q, out var n) ? m.CompareTo(n) : string.CompareOrdinal(p, q);
            if (c != 0) return c;
        }
        return a.Count.CompareTo(b.Count);
    }

    [GeneratedRegex(@"\d+|[^\d.\-+~]+", RegexOptions.CultureInvariant)]
    private static partial Regex Parts();
}
