using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;

namespace Provisioning.PowerShellTests;

/// <summary>Runs one Pester suite file in a PowerShell engine hosted in this process.</summary>
internal static class PesterRunner
{
    /// <summary>A suite takes seconds; a run still going after this is hung (a stuck sshd, say), not slow.</summary>
    private static readonly TimeSpan TimeLimit = TimeSpan.FromMinutes(10);

    // The same call as `Invoke-Pester` in pwsh from the repository root. Plaintext: no ANSI escapes in the captured
    // output, which goes to the information stream (Write-Host) since this host has no console.
    private const string Script = """
        param([string] $Pester, [string] $Root, [string] $Path)
        Set-Location -LiteralPath $Root
        Import-Module -Name $Pester
        $configuration = New-PesterConfiguration
        $configuration.Run.Path = $Path
        $configuration.Run.PassThru = $true
        $configuration.Output.Verbosity = 'Detailed'
        $configuration.Output.RenderMode = 'Plaintext'
        Invoke-Pester -Configuration $configuration
        """;

    /// <summary>Runs <paramref name="suitePath"/> in a runspace of its own and reads Pester's result object.</summary>
    public static PesterOutcome Run(string suitePath)
    {
        using var runspace = OpenRunspace();
        using var shell = PowerShell.Create(runspace);
        shell.AddScript(Script)
            .AddParameter("Pester", RepositoryPaths.PesterManifest)
            .AddParameter("Root", RepositoryPaths.Root)
            .AddParameter("Path", suitePath);

        var results = new PSDataCollection<PSObject>();
        Exception? fault = null;
        try
        {
            var pending = shell.BeginInvoke<PSObject, PSObject>(null, results);
            if (pending.AsyncWaitHandle.WaitOne(TimeLimit))
            {
                shell.EndInvoke(pending);
            }
            else
            {
                shell.Stop();
                fault = new TimeoutException($"Invoke-Pester was still running after {TimeLimit.TotalMinutes} minutes and was stopped.");
            }
        }
        catch (RuntimeException e)
        {
            fault = e;
        }

        var run = results.LastOrDefault(r => r?.TypeNames.Contains("Pester.Run") == true);
        return PesterOutcome.From(run, CapturedOutput(shell.Streams), fault);
    }

    /// <summary>A new runspace with PowerShell's default commands, as a fresh pwsh session has.</summary>
    public static Runspace OpenRunspace()
    {
        // CreateDefault2 loads only Microsoft.PowerShell.Core; Pester's Utility and Management cmdlets autoload
        // from $PSHOME/Modules, which is the SDK's runtimes/<os>/lib/<tfm>/Modules beside System.Management.Automation.dll.
        // PowerShell puts $PSHOME/Modules on the module path itself, whatever the environment's PSModulePath says.
        var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        runspace.Open();
        return runspace;
    }

    /// <summary>Pester's report (Write-Host), then whatever warnings and errors reached the shell's own streams.</summary>
    private static string CapturedOutput(PSDataStreams streams)
    {
        var text = new StringBuilder();
        foreach (var record in streams.Information)
        {
            if (record.MessageData is HostInformationMessage { NoNewLine: true } partial)
                text.Append(partial.Message);
            else
                text.AppendLine(record.MessageData?.ToString());
        }
        foreach (var warning in streams.Warning)
            text.AppendLine($"WARNING: {warning.Message}");
        foreach (var error in streams.Error)
            text.AppendLine($"ERROR: {error}").AppendLine(error.ScriptStackTrace);
        return text.ToString();
    }
}

/// <summary>What one Pester run reported, reduced to what the xunit test checks and prints.</summary>
/// <param name="Result">Pester's overall result (<c>Passed</c>, <c>Failed</c>), or null when no run object came back.</param>
/// <param name="Passed">Tests that ran and passed.</param>
/// <param name="Failed">Tests that ran and failed.</param>
/// <param name="Skipped">Tests marked to be skipped.</param>
/// <param name="NotRun">Tests that were discovered but not run.</param>
/// <param name="Failures">One entry per failed test, block or container: its name, then its error messages.</param>
/// <param name="Output">Everything the run wrote.</param>
/// <param name="Fault">What stopped the run itself (a terminating error, the time limit), if anything did.</param>
internal sealed record PesterOutcome(
    string? Result, int Passed, int Failed, int Skipped, int NotRun,
    IReadOnlyList<string> Failures, string Output, Exception? Fault)
{
    /// <summary>True when Pester ran at least one test, everything it ran passed, and nothing was left unrun.</summary>
    public bool Succeeded =>
        Fault is null && Result == "Passed" && Passed > 0 && Failed == 0 && NotRun == 0 && Failures.Count == 0;

    /// <summary>Reads a <c>Pester.Run</c> object (from <c>-PassThru</c>) through PowerShell's adapter.</summary>
    public static PesterOutcome From(PSObject? run, string output, Exception? fault)
    {
        if (run is null)
            return new PesterOutcome(null, 0, 0, 0, 0, [], output, fault);

        var failures = new List<string>();
        foreach (var test in Items(run, "Failed"))
            failures.Add(Failure("test", Value(test, "ExpandedPath"), test));
        // A failing BeforeAll or AfterAll fails its block; a file that does not parse fails its container.
        foreach (var block in Items(run, "FailedBlocks"))
            failures.Add(Failure("block", Value(block, "ExpandedPath"), block));
        foreach (var container in Items(run, "FailedContainers"))
            failures.Add(Failure("container", Value(container, "Item"), container));

        return new PesterOutcome(
            Value(run, "Result")?.ToString(),
            Count(run, "PassedCount"), Count(run, "FailedCount"), Count(run, "SkippedCount"), Count(run, "NotRunCount"),
            failures, output, fault);
    }

    /// <summary>The xunit failure message: the counts, then each failure with its messages.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(Result is null
            ? "Invoke-Pester returned no result object (see the output)."
            : $"Pester: {Result}; {Passed} passed, {Failed} failed, {Skipped} skipped, {NotRun} not run.");
        if (Result is not null && Passed + Failed == 0)
            text.AppendLine("No test ran.");
        if (Fault is not null)
            text.AppendLine($"The run stopped: {Fault.Message}");
        foreach (var failure in Failures)
            text.AppendLine(failure);
        return text.ToString();
    }

    private static string Failure(string kind, object? name, PSObject item)
    {
        var text = new StringBuilder($"[-] {kind} {name}");
        foreach (var error in Items(item, "ErrorRecord"))
        {
            // Pester adds DisplayErrorMessage and DisplayStackTrace (file and line in the suite) to each record.
            var message = Value(error, "DisplayErrorMessage")?.ToString()
                ?? (Value(error, "Exception") as Exception)?.Message
                ?? error.ToString();
            text.AppendLine().Append("    ").Append(message.ReplaceLineEndings(Environment.NewLine + "    "));
            if (Value(error, "DisplayStackTrace") is { } where)
                text.AppendLine().Append("    ").Append(where.ToString()?.ReplaceLineEndings(Environment.NewLine + "    "));
        }
        return text.ToString();
    }

    private static object? Value(PSObject item, string name) => item.Properties[name]?.Value switch
    {
        PSObject wrapped => wrapped.BaseObject,
        var value => value,
    };

    private static int Count(PSObject item, string name) => Convert.ToInt32(Value(item, name) ?? 0);

    private static IEnumerable<PSObject> Items(PSObject item, string name) =>
        Value(item, name) is IEnumerable items and not string ? items.Cast<object>().Select(PSObject.AsPSObject) : [];
}
