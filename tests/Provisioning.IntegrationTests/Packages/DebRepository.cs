using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Testbeds;

namespace Provisioning.IntegrationTests.Packages;

/// <summary>One .deb the tests build.</summary>
/// <param name="Name">Package name.</param>
/// <param name="Depends">Its Depends field, or null.</param>
/// <param name="PayloadBytes">Size of a random file it carries (to weigh it).</param>
/// <param name="Postinst">A postinst script, or null.</param>
internal sealed record TestDeb(string Name, string? Depends = null, long PayloadBytes = 0, string? Postinst = null);

/// <summary>
/// A flat apt repository that exists only on the controller: tiny .deb files built here with dpkg-deb, an index, and an
/// HTTP server on a loopback port of the controller's own network namespace, which offline agents cannot reach.
/// <see cref="TeachAsync"/> makes an agent's package lists know it (its sources entry and the index, as apt-get update
/// would have left them), so the agent can resolve the packages offline.
/// </summary>
internal sealed class DebRepository : IDisposable
{
    private readonly HttpListener _http = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private int _requests;

    public DebRepository(string folder, IEnumerable<TestDeb> packages)
    {
        Folder = Directory.CreateDirectory(Path.Combine(folder, "repo")).FullName;
        var index = new StringBuilder();
        foreach (var deb in packages)
        {
            var file = Build(folder, deb);
            var bytes = File.ReadAllBytes(file);
            index.Append($"Package: {deb.Name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Provisioning tests <tests@localhost>\n")
                .Append(deb.Depends is null ? "" : $"Depends: {deb.Depends}\n")
                .Append($"Filename: ./{Path.GetFileName(file)}\nSize: {bytes.Length}\nSHA256: {Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant()}\n")
                .Append("Description: a package the tests build\n\n");
        }
        Index = index.ToString();
        File.WriteAllText(Path.Combine(Folder, "Packages"), Index);
        Port = FreePort();
        _http.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _http.Start();
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>The folder holding the .deb files and the index.</summary>
    public string Folder { get; }
    /// <summary>The Packages index.</summary>
    public string Index { get; }
    /// <summary>The HTTP port on 127.0.0.1.</summary>
    public int Port { get; }
    /// <summary>How many files the server has handed out.</summary>
    public int Requests => Volatile.Read(ref _requests);
    /// <summary>True while the server answers (false after <see cref="GoOffline"/>).</summary>
    public bool Online => _http.IsListening;

    /// <summary>The sources.list line agents get.</summary>
    public string SourcesLine => $"deb [trusted=yes] http://127.0.0.1:{Port}/ ./\n";

    /// <summary>Writes the repository's sources entry and its index into the agent's apt lists (what apt-get update would leave).</summary>
    public async Task TeachAsync(AgentMachine machine)
    {
        await WriteAsync(machine, $"/etc/apt/sources.list.d/prov-test-{Port}.list", SourcesLine);
        await WriteAsync(machine, $"/var/lib/apt/lists/127.0.0.1:{Port}_._Packages", Index);
    }

    /// <summary>Copies the repository onto the agent as a file: repository at <paramref name="path"/> (for installs from the agent's own sources).</summary>
    public async Task CopyAsFileRepositoryAsync(AgentMachine machine, string path, params string[] packages)
    {
        await TransferTestKit.RemoteAsync(machine, $"mkdir -p {path}");
        foreach (var deb in Directory.GetFiles(Folder, "*.deb").Where(f => packages.Any(p => Path.GetFileName(f).StartsWith(p + "_", StringComparison.Ordinal))))
            await WriteAsync(machine, $"{path}/{Path.GetFileName(deb)}", Convert.ToBase64String(File.ReadAllBytes(deb)), base64: true);
        var index = string.Join("\n\n", Index.Split("\n\n").Where(s => packages.Any(p => s.StartsWith($"Package: {p}\n", StringComparison.Ordinal)))) + "\n\n";
        await WriteAsync(machine, $"{path}/Packages", index);
        await WriteAsync(machine, "/etc/apt/sources.list.d/prov-test-file.list", $"deb [trusted=yes] file:{path} ./\n");
        await WriteAsync(machine, $"/var/lib/apt/lists/_{path.Trim('/').Replace('/', '_')}_._Packages", index);
    }

    /// <summary>Stops answering: from now on the controller cannot download anything.</summary>
    public void GoOffline() => _http.Stop();

    public void Dispose()
    {
        _stop.Cancel();
        if (_http.IsListening) _http.Stop();
        try
        {
            _http.Close();
        }
        catch (HttpListenerException)
        {
            // .NET's managed HttpListener binds the port again to unregister a stopped listener; when another test
            // took the port in between, Close throws "Address already in use". The listener is stopped either way.
        }
        try { _serving.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    private static async Task WriteAsync(AgentMachine machine, string path, string content, bool base64 = false)
    {
        var encoded = base64 ? content : Convert.ToBase64String(Encoding.UTF8.GetBytes(content));
        await TransferTestKit.RemoteAsync(machine, $"mkdir -p \"$(dirname '{path}')\" && echo '{encoded}' | base64 -d > '{path}'");
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested && _http.IsListening)
        {
            HttpListenerContext context;
            try { context = await _http.GetContextAsync(); }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            var name = Path.GetFileName(Uri.UnescapeDataString(context.Request.Url!.AbsolutePath));
            var file = Path.Combine(Folder, name);
            if (name.Length > 0 && File.Exists(file))
            {
                Interlocked.Increment(ref _requests);
                var bytes = await File.ReadAllBytesAsync(file);
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
            }
            else context.Response.StatusCode = 404;
            context.Response.Close();
        }
    }

    private static string Build(string folder, TestDeb deb)
    {
        var root = Path.Combine(folder, "build-" + deb.Name);
        Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(root, "usr", "share", deb.Name));
        File.WriteAllText(Path.Combine(root, "DEBIAN", "control"),
            $"Package: {deb.Name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Provisioning tests <tests@localhost>\n" +
            (deb.Depends is null ? "" : $"Depends: {deb.Depends}\n") + "Description: a package the tests build\n");
        if (deb.Postinst is not null)
        {
            var postinst = Path.Combine(root, "DEBIAN", "postinst");
            File.WriteAllText(postinst, "#!/bin/sh\n" + deb.Postinst + "\n");
            File.SetUnixFileMode(postinst, (UnixFileMode)0b111_101_101);
        }
        File.WriteAllText(Path.Combine(root, "usr", "share", deb.Name, "hello"), $"hello from {deb.Name}\n");
        if (deb.PayloadBytes > 0) TransferTestKit.WriteRandomFile(Path.Combine(root, "usr", "share", deb.Name, "payload"), deb.PayloadBytes, deb.Name.GetHashCode());
        var output = Path.Combine(folder, "repo", $"{deb.Name}_1.0_all.deb");
        // No compression for random payloads: they do not shrink, and xz would only burn CPU.
        var start = new ProcessStartInfo("dpkg-deb", ["-Znone", "--build", "--root-owner-group", root, output]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"dpkg-deb: {error}");
        Directory.Delete(root, recursive: true);
        return output;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
