using System.Management.Automation;

namespace Provisioning.PowerShellTests;

/// <summary>
/// The hosted engine has what the suites need: if one of these fails, every suite would fail for a reason that
/// has nothing to do with the module.
/// </summary>
public sealed class HostedEngineTests
{
    [Fact]
    public void Built_in_modules_come_from_the_SDKs_PSHOME()
    {
        var (moduleBase, home) = Invoke(
            "$module = Import-Module Microsoft.PowerShell.Utility -PassThru; $module.ModuleBase; $PSHOME",
            r => (r[0].ToString(), r[1].ToString()));

        Assert.StartsWith(home, moduleBase, StringComparison.Ordinal);
        Assert.StartsWith(AppContext.BaseDirectory, home, StringComparison.Ordinal);
    }

    [Fact]
    public void Pester_comes_from_its_package()
    {
        var version = Invoke(
            "param($Pester) (Import-Module -Name $Pester -PassThru).Version.ToString()",
            r => r.Single().ToString(),
            ("Pester", RepositoryPaths.PesterManifest));

        Assert.Equal(RepositoryPaths.PesterVersion, version);
    }

    private static T Invoke<T>(string script, Func<IReadOnlyList<PSObject>, T> read, params (string Name, object Value)[] parameters)
    {
        using var runspace = PesterRunner.OpenRunspace();
        using var shell = PowerShell.Create(runspace);
        shell.AddScript(script);
        foreach (var (name, value) in parameters)
            shell.AddParameter(name, value);
        var results = shell.Invoke();
        Assert.False(shell.HadErrors, string.Join(Environment.NewLine, shell.Streams.Error));
        return read(results);
    }
}
