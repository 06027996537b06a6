using System.Reflection;

namespace Provisioning.PowerShellTests;

/// <summary>Where the repository, its Pester suites, the assembled module and Pester are.</summary>
internal static class RepositoryPaths
{
    /// <summary>The repository's root folder, stamped into this assembly at build time.</summary>
    public static string Root { get; } = Metadata("RepositoryRoot");

    /// <summary>The folder of the <c>*.Tests.ps1</c> suites.</summary>
    public static string TestsDirectory => Path.Combine(Root, "tests");

    /// <summary>The manifest of the assembled module, which building src/Provisioning writes.</summary>
    public static string ModuleManifest => Path.Combine(Root, "module", "Provisioning", "Provisioning.psd1");

    /// <summary>Pester's manifest in the NuGet packages folder (the project downloads the package).</summary>
    public static string PesterManifest { get; } = Metadata("PesterManifest");

    /// <summary>The Pester version the project downloads, the one the suites were verified with.</summary>
    public static string PesterVersion { get; } = Metadata("PesterVersion");

    private static string Metadata(string key) =>
        typeof(RepositoryPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
