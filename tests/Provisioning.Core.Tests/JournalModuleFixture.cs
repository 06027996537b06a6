using System.Diagnostics;
using System.Reflection;

namespace Provisioning.Core.Tests;

/// <summary>
/// Gives the loader and multi-process journal tests a module folder laid out as the build assembles it
/// (Provisioning.dll at the top, everything else under dependencies/, native assets under
/// dependencies/runtimes/&lt;rid&gt;/native/) in a temp folder, and runs the LoaderProbe against it as a separate process.
/// </summary>
public sealed class JournalModuleFixture : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("provisioning-module-").FullName;

    /// <summary>Assembles the module once for the collection.</summary>
    public JournalModuleFixture()
    {
        var metadata = typeof(JournalModuleFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value);
        Root = metadata["ProvisioningRoot"]!;
        var configuration = metadata["BuildConfiguration"]!;
        ProbePath = Path.Combine(Root, "tests", "Provisioning.LoaderProbe", "bin", configuration, "net10.0", "Provisioning.LoaderProbe.dll");
        CmdletsOutput = Path.Combine(Root, "src", "Provisioning", "bin", configuration, "net8.0");
        AssembledModule = Assemble(Path.Combine(_scratch, "full"), withNativeAssets: true);
    }

    /// <summary>The repository root.</summary>
    public string Root { get; }

    /// <summary>The probe app.</summary>
    public string ProbePath { get; }

    /// <summary>src/Provisioning's build output (Provisioning.dll and every dependency, flat).</summary>
    public string CmdletsOutput { get; }

    /// <summary>A module folder assembled by this fixture.</summary>
    public string AssembledModule { get; }

    /// <summary>A fresh folder for one test.</summary>
    public string NewScratchFolder() => Directory.CreateDirectory(Path.Combine(_scratch, Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>module/Provisioning as the build assembles it, or null while the build does not assemble it.</summary>
    public string? BuiltModule =>
        Path.Combine(Root, "module", "Provisioning") is var built && File.Exists(Path.Combine(built, "Provisioning.dll")) ? built : null;

    /// <summary>
    /// Lays out a module folder at <paramref name="folder"/>/Provisioning: a copy of the built module/Provisioning when
    /// there is one, else from src/Provisioning's flat build output.
    /// </summary>
    public string Assemble(string folder, bool withNativeAssets)
    {
        var module = Path.Combine(folder, "Provisioning");
        var dependencies = Directory.CreateDirectory(Path.Combine(module, "dependencies")).FullName;
        var source = BuiltModule;
        if (source is not null)
        {
            File.Copy(Path.Combine(source, "Provisioning.dll"), Path.Combine(module, "Provisioning.dll"));
            CopyTree(Path.Combine(source, "dependencies"), dependencies,
                file => withNativeAssets || !file.StartsWith("runtimes" + Path.DirectorySeparatorChar, StringComparison.Ordinal));
            return module;
        }

        Assert.True(File.Exists(Path.Combine(CmdletsOutput, "Provisioning.dll")), $"src/Provisioning is not built: {CmdletsOutput}");
        foreach (var file in Directory.EnumerateFiles(CmdletsOutput, "*.dll"))
        {
            var name = Path.GetFileName(file);
            Assert.NotEqual("System.Management.Automation.dll", name);
            File.Copy(file, Path.Combine(name == "Provisioning.dll" ? module : dependencies, name));
        }
        if (withNativeAssets) CopyTree(Path.Combine(CmdletsOutput, "runtimes"), Path.Combine(dependencies, "runtimes"), _ => true);
        return module;
    }

    /// <summary>Runs the probe to completion (2 minutes at most) and returns its exit code and output.</summary>
    public ProbeRun RunProbe(params string[] arguments)
    {
        using var process = StartProbe(arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"probe {string.Join(' ', arguments)} did not finish in 2 minutes");
        }
        process.WaitForExit();
        return new ProbeRun(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts the probe with redirected output.</summary>
    public Process StartProbe(params string[] arguments)
    {
        Assert.True(File.Exists(ProbePath), $"the LoaderProbe is not built: {ProbePath}");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ProbePath);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return Process.Start(start)!;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a probe killed by a failing test may still hold a file for a moment.
        }
    }

    private static void CopyTree(string source, string target, Func<string, bool> include)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (!include(relative)) continue;
            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
    }
}

/// <summary>What one probe process did.</summary>
public sealed record ProbeRun(int ExitCode, string Stdout, string Stderr)
{
    /// <inheritdoc />
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Tests that share the assembled module (and run one at a time: each starts processes).</summary>
[CollectionDefinition(Name)]
public sealed class JournalModuleCollection : ICollectionFixture<JournalModuleFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Assembled module";
}
