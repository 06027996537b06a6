using Xunit.Abstractions;

namespace Provisioning.PowerShellTests;

/// <summary>
/// One test per Pester suite in tests/: each runs through Invoke-Pester in its own runspace against the assembled
/// module, and fails when any Pester test, block or container fails, or when the suite runs no test at all.
/// </summary>
public sealed class PesterSuiteTests(ITestOutputHelper output)
{
    /// <summary>The suite files, by name, so each shows up as its own test case.</summary>
    public static TheoryData<string> Suites()
    {
        var suites = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(RepositoryPaths.TestsDirectory, "*.Tests.ps1").Order(StringComparer.Ordinal))
            suites.Add(Path.GetFileName(path));
        return suites;
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void Suite_passes(string suite)
    {
        Assert.True(File.Exists(RepositoryPaths.ModuleManifest), $"{RepositoryPaths.ModuleManifest} is missing: building src/Provisioning assembles the module.");
        Assert.True(File.Exists(RepositoryPaths.PesterManifest), $"{RepositoryPaths.PesterManifest} is missing: restoring this project downloads Pester.");

        var outcome = PesterRunner.Run(Path.Combine(RepositoryPaths.TestsDirectory, suite));

        output.WriteLine(outcome.Output);
        Assert.True(outcome.Succeeded, outcome.Describe());
    }
}
