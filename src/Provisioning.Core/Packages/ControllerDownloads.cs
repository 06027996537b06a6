using System.Collections.Concurrent;
using System.Diagnostics;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Packages;

/// <summary>
/// Fills the cache with the controller's own pip (<c>pip download</c>, dependencies included) or npm
/// (<c>npm pack</c>) while the controller is online: once per set of packages, however many hosts ask.
/// </summary>
internal sealed class ControllerDownloads(PackageCache cache)
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _runs = new(StringComparer.Ordinal);

    /// <summary>Downloads <paramref name="requests"/> into the cache, then records the new files in its manifest.</summary>
    /// <exception cref="ProvisioningException">The download failed (<see cref="ErrorKind.PackageNotFound"/>).</exception>
    public Task EnsureAsync(PackageManager manager, IReadOnlyList<PackageRequest> requests, CancellationToken ct)
    {
        var key = manager + ":" + string.Join(' ', requests.Select(r => r.ToArgument(manager)).Order(StringComparer.Ordinal));
        return _runs.GetOrAdd(key, _ => new Lazy<Task>(() => RunAsync(manager, requests, ct))).Value;
    }

    private async Task RunAsync(PackageManager manager, IReadOnlyList<PackageRequest> requests, CancellationToken ct)
    {
        var folder = Path.Combine(cache.Root, manager == PackageManager.Pip ? "pip" : "npm");
        Directory.CreateDirectory(folder);
        var (program, arguments) = manager == PackageManager.Pip
            ? ("python3", new[] { "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--dest", folder })
            : ("npm", new[] { "pack", "--pack-destination", folder, "--loglevel=error" });
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments.Concat(requests.Select(r => r.ToArgument(manager)))) start.ArgumentList.Add(a);
        var what = string.Join(", ", requests.Select(r => r.ToArgument(manager)));
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new ProvisioningException(ErrorKind.PackageNotFound,
                $"{what} is not in the package cache '{cache.Root}', and the controller has no {program} to download it: {ex.Message}", what);
        }
        using (process)
        {
            using var kill = ct.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } });
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                var last = (await stderr.ConfigureAwait(false)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
                throw new ProvisioningException(ErrorKind.PackageNotFound,
                    $"{what} is not in the package cache '{cache.Root}', and the controller could not download it ({program} exited with {process.ExitCode}: {last})", what);
            }
        }
        cache.Refresh();
    }
}
