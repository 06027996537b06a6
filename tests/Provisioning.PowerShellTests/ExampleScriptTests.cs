using System.Management.Automation;
using Xunit.Abstractions;

namespace Provisioning.PowerShellTests;

/// <summary>
/// Every script in examples/ runs as a user would run it (<c>pwsh -File</c>), here in the hosted engine, so the
/// examples cannot rot. Each example checks its own results and stops with an error when a step goes wrong.
/// </summary>
public sealed class ExampleScriptTests(ITestOutputHelper output)
{
    private static string ExamplesDirectory => Path.Combine(RepositoryPaths.Root, "examples");

    /// <summary>The example scripts, by name, so each shows up as its own test case.</summary>
    public static TheoryData<string> Examples()
    {
        var examples = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(ExamplesDirectory, "*.ps1").Order(StringComparer.Ordinal))
            examples.Add(Path.GetFileName(path));
        return examples;
    }

    [Fact]
    public void There_are_examples_to_run() => Assert.True(File.Exists(Path.Combine(ExamplesDirectory, "quickstart.ps1")));

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_runs_to_its_end(string example)
    {
        using var runspace = PesterRunner.OpenRunspace();
        using var shell = PowerShell.Create(runspace);
        shell.AddScript("param($Path) $ErrorActionPreference = 'Stop'; & $Path").AddParameter("Path", Path.Combine(ExamplesDirectory, example));
        var results = new List<PSObject>();
        RuntimeException? failure = null;
        try
        {
            results.AddRange(shell.Invoke());
        }
        catch (RuntimeException e)
        {
            failure = e;
        }
        foreach (var line in results) output.WriteLine(line?.ToString() ?? "");
        foreach (var warning in shell.Streams.Warning) output.WriteLine($"WARNING: {warning}");

        Assert.True(failure is null, $"{example} stopped: {failure?.ErrorRecord?.ToString() ?? failure?.Message}\n{failure?.ErrorRecord?.ScriptStackTrace}");
        Assert.False(shell.HadErrors, $"{example} wrote errors:\n{string.Join("\n", shell.Streams.Error)}");
        // Each example ends by saying what it did, after its own checks passed.
        var name = Path.GetFileNameWithoutExtension(example);
        Assert.Contains(results, r => r?.BaseObject is string s && s.StartsWith(name == "iperf3" ? "iperf3 walk-through:" : name + ":", StringComparison.Ordinal));
    }
}
