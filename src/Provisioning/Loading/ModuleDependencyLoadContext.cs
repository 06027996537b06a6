using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Provisioning.Loading;

/// <summary>
/// The module's private assembly load context. It loads the engine (Provisioning.Core) and every third-party
/// assembly it needs from the module's <c>dependencies/</c> folder, so their versions never clash with the copies
/// other modules bring into pwsh (platyPS ships its own YamlDotNet). It also finds native libraries (SQLite's
/// <c>e_sqlite3</c>) in <c>dependencies/runtimes/&lt;rid&gt;/native/</c>, because pwsh resolves native libraries through
/// its own deps.json, which knows nothing of this module.
/// </summary>
/// <remarks>
/// Deliberately free of System.Management.Automation types: a loader without PowerShell (the LoaderProbe test)
/// uses this class by reflection to load the module exactly as pwsh would.
/// </remarks>
public sealed class ModuleDependencyLoadContext : AssemblyLoadContext
{
    /// <summary>Name of the module's dependency folder, next to Provisioning.dll.</summary>
    public const string DependencyFolderName = "dependencies";

    // One context per process: a second one would load a second Provisioning.Core whose types are not the first's.
    private static readonly Lazy<ModuleDependencyLoadContext> Module = new(() =>
    {
        var location = typeof(ModuleDependencyLoadContext).Assembly.Location;
        if (string.IsNullOrEmpty(location))
            throw new InvalidOperationException("Provisioning.dll was not loaded from a file, so its dependency folder cannot be found.");
        return new ModuleDependencyLoadContext(Path.Combine(Path.GetDirectoryName(location)!, DependencyFolderName));
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly ConcurrentDictionary<string, string> _nativeLibraries = new(StringComparer.Ordinal);

    /// <summary>Creates a context that loads from <paramref name="dependencyDirectory"/>.</summary>
    public ModuleDependencyLoadContext(string dependencyDirectory)
        : base("Provisioning.Dependencies", isCollectible: false)
    {
        DependencyDirectory = Path.GetFullPath(dependencyDirectory);
        NativeDirectories = GetRuntimeIdentifierCandidates()
            .Select(rid => Path.Combine(DependencyDirectory, "runtimes", rid, "native"))
            .Append(DependencyDirectory)
            .ToArray();
    }

    /// <summary>The context of the module this assembly was loaded from (its <c>dependencies/</c> folder).</summary>
    public static ModuleDependencyLoadContext ForModule => Module.Value;

    /// <summary>The folder managed dependencies are loaded from.</summary>
    public string DependencyDirectory { get; }

    /// <summary>Folders searched for native libraries, best match for this machine first.</summary>
    public IReadOnlyList<string> NativeDirectories { get; }

    /// <summary>Native libraries this context loaded: requested name to the file it loaded.</summary>
    public IReadOnlyDictionary<string, string> LoadedNativeLibraries => _nativeLibraries;

    /// <summary>
    /// Runtime identifiers to look for native assets under, most specific first: the runtime's own RID (which may be
    /// distro-specific), then the portable one (<c>linux-x64</c>, <c>linux-musl-arm64</c>, <c>osx-arm64</c>, <c>win-x64</c>).
    /// </summary>
    public static IReadOnlyList<string> GetRuntimeIdentifierCandidates()
    {
        var candidates = new List<string> { RuntimeInformation.RuntimeIdentifier };
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (OperatingSystem.IsLinux())
        {
            // A glibc build of e_sqlite3 does not load on musl (Alpine) and the reverse, so only the matching one is tried.
            candidates.Add(IsMusl() ? $"linux-musl-{arch}" : $"linux-{arch}");
        }
        else if (OperatingSystem.IsMacOS())
        {
            candidates.Add($"osx-{arch}");
        }
        else if (OperatingSystem.IsWindows())
        {
            candidates.Add($"win-{arch}");
        }
        else if (OperatingSystem.IsFreeBSD())
        {
            candidates.Add($"freebsd-{arch}");
        }
        return candidates.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (string.IsNullOrEmpty(assemblyName.Name)) return null;
        var path = Path.Combine(DependencyDirectory, assemblyName.Name + ".dll");
        // Null lets the default context answer: framework assemblies, and anything we do not ship.
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    /// <inheritdoc />
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        foreach (var directory in NativeDirectories)
        {
            foreach (var fileName in NativeFileNames(unmanagedDllName))
            {
                var path = Path.Combine(directory, fileName);
                if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
                {
                    _nativeLibraries[unmanagedDllName] = path;
                    return handle;
                }
            }
        }
        // Zero falls back to the runtime's usual probing (system libraries such as libc).
        return IntPtr.Zero;
    }

    /// <summary>File names a DllImport of <paramref name="name"/> can mean on this OS (<c>e_sqlite3</c> is <c>libe_sqlite3.so</c> on Linux).</summary>
    private static IEnumerable<string> NativeFileNames(string name)
    {
        if (Path.IsPathRooted(name)) yield break;
        yield return name;
        if (OperatingSystem.IsWindows())
        {
            if (!name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) yield return name + ".dll";
            yield break;
        }
        var suffix = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        var bare = name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name;
        yield return bare + suffix;
        if (!ReferenceEquals(bare, name)) yield return name + suffix;
    }

    private static bool IsMusl()
    {
        if (RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.OrdinalIgnoreCase)
            || RuntimeInformation.RuntimeIdentifier.StartsWith("alpine", StringComparison.OrdinalIgnoreCase))
            return true;
        try
        {
            return Directory.Exists("/lib") && Directory.EnumerateFiles("/lib", "ld-musl-*.so.1").Any();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
