using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Packages;

/// <summary>One file of the controller's package cache, as its manifest records it.</summary>
public sealed record PackageCacheEntry
{
    /// <summary>The manager the file is for.</summary>
    public required PackageManager Manager { get; init; }
    /// <summary>The package's name.</summary>
    public required string Name { get; init; }
    /// <summary>Its version.</summary>
    public required string Version { get; init; }
    /// <summary>Its architecture (apt: <c>amd64</c>, <c>all</c>; a wheel's platform tag).</summary>
    public string Architecture { get; init; } = "";
    /// <summary>The OS release it was resolved for (apt: the agent's codename); empty when any.</summary>
    public string Release { get; init; } = "";
    /// <summary>SHA-256 of the file, lower-case hex.</summary>
    public required string Sha256 { get; init; }
    /// <summary>Its size in bytes.</summary>
    public long Size { get; init; }
    /// <summary>The file, relative to the cache folder ('/'-separated).</summary>
    public required string File { get; init; }
    /// <summary>Names of the packages it depends on (pip and npm: the closure is taken from the cache).</summary>
    public IReadOnlyList<string> Requires { get; init; } = [];
}

/// <summary>
/// The controller's package cache: a folder of package files with a <c>manifest.json</c> (manager, name, version,
/// architecture, release, sha256, file). It can be copied to another controller as it is. Files are checked
/// against their hash every time they are used; a file that does not match is refused, never installed. Downloads
/// happen once per file however many hosts want it.
/// </summary>
public sealed class PackageCache
{
    /// <summary>The manifest's file name inside the cache folder.</summary>
    public const string ManifestName = "manifest.json";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(10) };
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly object _gate = new();
    private readonly List<PackageCacheEntry> _entries;
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _downloads = new(StringComparer.Ordinal);

    private PackageCache(string root, List<PackageCacheEntry> entries)
    {
        Root = root;
        _entries = entries;
    }

    /// <summary>The cache folder.</summary>
    public string Root { get; }

    /// <summary>The default cache folder: <c>$XDG_CACHE_HOME/provisioning/packages</c> (or <c>~/.cache/...</c>).</summary>
    public static string DefaultRoot => Path.Combine(
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
        "provisioning", "packages");

    /// <summary>Every file the manifest lists, plus wheels and npm tarballs put in the folder by hand.</summary>
    public IReadOnlyList<PackageCacheEntry> Entries
    {
        get { lock (_gate) return _entries.ToArray(); }
    }

    /// <summary>Opens (and creates) the cache at <paramref name="root"/>.</summary>
    /// <exception cref="ProvisioningException">The manifest cannot be read (<see cref="ErrorKind.PackageCacheInvalid"/>).</exception>
    public static PackageCache Open(string root)
    {
        var full = Path.GetFullPath(root);
        Directory.CreateDirectory(full);
        var manifest = Path.Combine(full, ManifestName);
        List<PackageCacheEntry> entries = [];
        if (File.Exists(manifest))
        {
            try
            {
                entries = JsonSerializer.Deserialize<ManifestFile>(File.ReadAllText(manifest), Json)?.Packages?.ToList() ?? [];
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
            {
                throw new ProvisioningException(ErrorKind.PackageCacheInvalid, $"The package cache manifest '{manifest}' cannot be read: {ex.Message}", manifest);
            }
        }
        var cache = new PackageCache(full, entries);
        cache.AddLooseFiles();
        return cache;
    }

    /// <summary>The entry whose file has <paramref name="sha256"/>, if any.</summary>
    public PackageCacheEntry? FindBySha256(string sha256)
    {
        lock (_gate) return _entries.FirstOrDefault(e => string.Equals(e.Sha256, sha256, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Entries of <paramref name="manager"/> for the package <paramref name="request"/> names, newest version first.</summary>
    public IReadOnlyList<PackageCacheEntry> Find(PackageManager manager, PackageRequest request)
    {
        lock (_gate)
        {
            return _entries.Where(e => e.Manager == manager && request.Names(e.Name, manager) && (request.Version is null || e.Version == request.Version))
                .OrderByDescending(e => e.Version, VersionOrder.Instance).ToArray();
        }
    }

    /// <summary>
    /// The full path of the entry's file once its content has been checked against the manifest's hash (once per
    /// file and call).
    /// </summary>
    /// <exception cref="ProvisioningException">The file is missing (<see cref="ErrorKind.PackageNotFound"/>) or does not match its hash (<see cref="ErrorKind.PackageCacheHashMismatch"/>).</exception>
    public Task<string> VerifiedPathAsync(PackageCacheEntry entry, CancellationToken cancellationToken) =>
        _verified.GetOrAdd(entry.File + "\n" + entry.Sha256, _ => new Lazy<Task<string>>(() => VerifyAsync(entry, cancellationToken))).Value;

    /// <summary>
    /// Downloads <paramref name="uri"/> into the cache (once, however many hosts ask), checks it against
    /// <paramref name="entry"/>'s hash and records it in the manifest; returns the full path.
    /// </summary>
    /// <exception cref="ProvisioningException">The download failed (<see cref="ErrorKind.PackageNotFound"/>) or gave other bytes (<see cref="ErrorKind.PackageCacheHashMismatch"/>).</exception>
    public Task<string> DownloadAsync(Uri uri, PackageCacheEntry entry, CancellationToken cancellationToken) =>
        _downloads.GetOrAdd(entry.Sha256, _ => new Lazy<Task<string>>(() => DownloadCoreAsync(uri, entry, cancellationToken))).Value;

    /// <summary>Records <paramref name="entry"/> (a file already in the folder, put there by a manager's own download) in the manifest.</summary>
    public void Add(PackageCacheEntry entry)
    {
        lock (_gate)
        {
            _entries.RemoveAll(e => e.File == entry.File);
            _entries.Add(entry);
            Save();
        }
    }

    /// <summary>The SHA-256 of a local file, lower-case hex.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Convert.ToHexString(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false)).ToLowerInvariant();
    }

    private async Task<string> VerifyAsync(PackageCacheEntry entry, CancellationToken ct)
    {
        var path = Path.Combine(Root, entry.File);
        if (!File.Exists(path))
            throw new ProvisioningException(ErrorKind.PackageNotFound, $"The package cache lists '{entry.File}' ({entry.Name} {entry.Version}), but the file is not in '{Root}'.", path);
        var actual = await Sha256Async(path, ct).ConfigureAwait(false);
        if (!string.Equals(actual, entry.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ProvisioningException(ErrorKind.PackageCacheHashMismatch,
                $"The cached file '{path}' ({entry.Name} {entry.Version}) has SHA-256 {actual}, not {entry.Sha256}: it was refused and not installed. Delete it (and run Save-AgentPackage again) to fetch it anew.", path);
        }
        return path;
    }

    private async Task<string> DownloadCoreAsync(Uri uri, PackageCacheEntry entry, CancellationToken ct)
    {
        var path = Path.Combine(Root, entry.File);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Another PackageCache over the same folder (another host's step, another session) may download the same
        // file at once: each writes its own part, and the first rename wins. A later one never replaces the file,
        // since another host may already be sending it (a replaced file reads as "changed while it was being sent").
        var part = $"{path}.part-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        try
        {
            if (uri.IsFile)
            {
                File.Copy(uri.LocalPath, part, overwrite: true);
            }
            else
            {
                using var response = await Http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                await using var target = File.Create(part);
                await response.Content.CopyToAsync(target, ct).ConfigureAwait(false);
            }
            var actual = await Sha256Async(part, ct).ConfigureAwait(false);
            if (!string.Equals(actual, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new ProvisioningException(ErrorKind.PackageCacheHashMismatch,
                    $"The download of {entry.Name} {entry.Version} from {uri} has SHA-256 {actual}, not the {entry.Sha256} the host's signed package lists give: it was refused.", uri.ToString());
            }
            try
            {
                File.Move(part, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Someone else put the file there first: keep theirs when it holds the same verified bytes.
                if (!string.Equals(await Sha256Async(path, ct).ConfigureAwait(false), entry.Sha256, StringComparison.OrdinalIgnoreCase))
                    File.Move(part, path, overwrite: true);
            }
            Add(entry with { Size = new FileInfo(path).Length });
            return path;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or UnauthorizedAccessException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new ProvisioningException(ErrorKind.PackageNotFound,
                $"{entry.Name} {entry.Version} is not in the package cache '{Root}', and the controller could not download it from {uri}: {ex.Message}", uri.ToString());
        }
        finally
        {
            if (File.Exists(part)) File.Delete(part);
        }
    }

    // Wheels and npm tarballs dropped into the folder (or its pip/ and npm/ subfolders) count without a manifest: a
    // folder of wheels is a cache. Their hash is computed when they are used.
    private void AddLooseFiles()
    {
        lock (_gate)
        {
            var known = _entries.Select(e => e.File).ToHashSet(StringComparer.Ordinal);
            foreach (var (folder, pattern) in new[] { ("", "*.whl"), ("pip", "*.whl"), ("", "*.tgz"), ("npm", "*.tgz") })
            {
                var directory = Path.Combine(Root, folder);
                if (!Directory.Exists(directory)) continue;
                foreach (var file in Directory.EnumerateFiles(directory, pattern))
                {
                    var relative = Path.GetRelativePath(Root, file).Replace('\\', '/');
                    if (known.Contains(relative)) continue;
                    var entry = file.EndsWith(".whl", StringComparison.Ordinal) ? WheelFile.Describe(file, relative) : NpmTarball.Describe(file, relative);
                    if (entry is not null) _entries.Add(entry);
                }
            }
        }
    }

    /// <summary>Records the wheels and tarballs a manager's own download put in the folder.</summary>
    public void Refresh()
    {
        lock (_gate)
        {
            AddLooseFiles();
            Save();
        }
    }

    private static readonly object SaveGate = new();

    /// <summary>
    /// Writes the manifest, merged with what is on disk now: other caches over the same folder (another host's
    /// provisioning step, another session) may have added entries since this one was opened, and none may be lost.
    /// </summary>
    private void Save()
    {
        var manifest = Path.Combine(Root, ManifestName);
        var temporary = $"{manifest}.tmp-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
        lock (SaveGate)
        {
            using var exclusive = LockManifest(manifest);
            if (File.Exists(manifest))
            {
                try
                {
                    var onDisk = JsonSerializer.Deserialize<ManifestFile>(File.ReadAllText(manifest), Json)?.Packages ?? [];
                    foreach (var entry in onDisk)
                        if (!_entries.Any(e => e.File == entry.File) && File.Exists(Path.Combine(Root, entry.File))) _entries.Add(entry);
                }
                catch (Exception ex) when (ex is JsonException or IOException)
                {
                    // An unreadable manifest is replaced by this one's entries.
                }
            }
            WriteManifest(manifest, temporary);
        }
    }

    /// <summary>An exclusive lock file next to the manifest, held while it is read, merged and replaced.</summary>
    private static FileStream? LockManifest(string manifest)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                return new FileStream(manifest + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                Thread.Sleep(25);
            }
        }
        return null;
    }

    private void WriteManifest(string manifest, string temporary)
    {
        var listed = _entries.OrderBy(e => e.Manager).ThenBy(e => e.Name, StringComparer.Ordinal).ThenBy(e => e.File, StringComparer.Ordinal).ToArray();
        File.WriteAllText(temporary, JsonSerializer.Serialize(new ManifestFile { Packages = listed }, Json));
        File.Move(temporary, manifest, overwrite: true);
    }

    private sealed class ManifestFile
    {
        public int Version { get; set; } = 1;
        public PackageCacheEntry[]? Packages { get; set; }
    }
}
