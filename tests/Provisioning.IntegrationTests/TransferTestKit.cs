using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Provisioning.Core.Journal;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Transport;

namespace Provisioning.IntegrationTests;

/// <summary>Small things the transfer tests share: draining results, remote commands, local scratch folders.</summary>
internal static class TransferTestKit
{
    /// <summary>Reads every result of a run.</summary>
    public static async Task<List<T>> DrainAsync<T>(ChannelReader<T> reader)
    {
        var all = new List<T>();
        await foreach (var item in reader.ReadAllAsync()) all.Add(item);
        return all;
    }

    /// <summary>Runs a shell command on the machine through its testbed's transport and fails the test when it fails.</summary>
    public static async Task<string> RemoteAsync(AgentMachine machine, string command)
    {
        var r = await machine.Testbed!.Transport.ExecuteAsync(machine, new RemoteExecutionRequest { Command = command, Timeout = TimeSpan.FromSeconds(30) }, CancellationToken.None);
        Assert.True(r.Outcome == ExecutionOutcome.Exited && r.ExitCode == 0, $"{machine.Name}: '{command}' -> {r.Outcome} {r.ExitCode}: {r.Stderr}");
        return r.Stdout;
    }

    /// <summary>A path in the agent's working directory as this machine sees it (Local agents share the file system).</summary>
    public static string WorkPath(AgentMachine machine, string relative) => Path.Combine(machine.WorkDir!, relative);

    /// <summary>SHA-256 of a local file, lowercase hex.</summary>
    public static string Sha256Of(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    /// <summary>SHA-256 of text as UTF-8, lowercase hex.</summary>
    public static string Sha256OfText(string text) => Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    /// <summary>Files left behind by an interrupted transfer (the engine's temporary names) under a folder.</summary>
    public static string[] TemporaryFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, ".prov-*", SearchOption.AllDirectories).ToArray()
            : Array.Empty<string>();

    /// <summary>Writes a file of <paramref name="bytes"/> pseudo-random bytes (incompressible, reproducible).</summary>
    public static void WriteRandomFile(string path, long bytes, int seed = 1)
    {
        var random = new Random(seed);
        var buffer = new byte[1024 * 1024];
        using var stream = File.Create(path);
        for (long left = bytes; left > 0; left -= buffer.Length)
        {
            random.NextBytes(buffer);
            stream.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        }
    }
}

/// <summary>A scratch folder on the controller, deleted at the end of the test.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public ScratchFolder() => Path = Directory.CreateTempSubdirectory("prov-transfer-").FullName;

    public string Path { get; }

    public string File(string relative, string? content = null)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        if (content is not null) System.IO.File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// Keeps what a run would journal, in memory: it stands in for the SQLite journal (another component), not for
/// anything on the network.
/// </summary>
internal sealed class MemoryRunRecorder : IRunRecorder
{
    public ConcurrentQueue<StepRecord> Steps { get; } = new();
    public ConcurrentQueue<ArtifactRecord> Artifacts { get; } = new();
    public long RunId => 42;
    public string JournalPath => "memory";
    public RunStatus? Completed { get; private set; }
    public void RecordStep(StepRecord step) => Steps.Enqueue(step);
    public void RecordArtifact(ArtifactRecord artifact) => Artifacts.Enqueue(artifact);
    public Task CompleteAsync(RunStatus status, CancellationToken cancellationToken = default)
    {
        Completed = status;
        return Task.CompletedTask;
    }
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
