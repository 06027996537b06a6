using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>Finds the OpenSSH programs the Local provider runs and wraps the one-shot ones (ssh-keygen).</summary>
[SupportedOSPlatform("linux")]
internal sealed class OpenSshTools
{
    private OpenSshTools(string sshd, string keygen, Version version)
    {
        Sshd = sshd;
        Keygen = keygen;
        SshdVersion = version;
    }

    /// <summary>Absolute path of sshd (it re-executes itself per connection, so it must be absolute).</summary>
    public string Sshd { get; }

    /// <summary>Path of ssh-keygen.</summary>
    public string Keygen { get; }

    /// <summary>The OpenSSH release of sshd (major.minor), so the config only uses keywords it knows.</summary>
    public Version SshdVersion { get; }

    /// <summary>
    /// Locates sshd and ssh-keygen, or throws <see cref="ErrorKind.DependencyMissing"/> naming the package to install.
    /// Explicit paths (tests) are used as given.
    /// </summary>
    public static OpenSshTools Locate(string? sshdPath, string? keygenPath)
    {
        var sshd = sshdPath ?? Find("sshd", "/usr/sbin", "/usr/local/sbin", "/sbin");
        if (sshd is null || !File.Exists(sshd))
        {
            throw new ProvisioningException(ErrorKind.DependencyMissing,
                $"sshd was not found{(sshdPath is null ? " (looked in /usr/sbin and PATH)" : $" at '{sshdPath}'")}. The Local provider runs real OpenSSH servers: " +
                "install the Debian/Ubuntu package 'openssh-server' (apt-get install openssh-server), or your distribution's equivalent.",
                sshdPath ?? "sshd");
        }
        var keygen = keygenPath ?? Find("ssh-keygen", "/usr/bin", "/usr/local/bin", "/bin");
        if (keygen is null || !File.Exists(keygen))
        {
            throw new ProvisioningException(ErrorKind.DependencyMissing,
                $"ssh-keygen was not found{(keygenPath is null ? " (looked in /usr/bin and PATH)" : $" at '{keygenPath}'")}. " +
                "Install the Debian/Ubuntu package 'openssh-client' (apt-get install openssh-client), or your distribution's equivalent.",
                keygenPath ?? "ssh-keygen");
        }
        sshd = Path.GetFullPath(sshd);
        return new OpenSshTools(sshd, keygen, ReadVersion(sshd));
    }

    // "sshd -V" prints "OpenSSH_9.2, OpenSSL ..." on stderr; releases before 9.0 reject -V but print the
    // same version line above their usage text.
    private static Version ReadVersion(string sshd)
    {
        try
        {
            var start = new ProcessStartInfo(sshd, "-V")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = "/",
            };
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var text = process.StandardError.ReadToEnd() + stdout.Result;
            process.WaitForExit();
            var match = Regex.Match(text, @"OpenSSH_(\d+)\.(\d+)");
            if (match.Success) return new Version(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Not executable: starting the agents will say so, with the log.
        }
        return new Version(0, 0);
    }

    /// <summary>Writes a new passphrase-less ed25519 key pair at <paramref name="path"/> and <c>path.pub</c>.</summary>
    public async Task GenerateKeyAsync(string path, string comment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Keygen)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var a in new[] { "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(); } catch (InvalidOperationException) { }
            throw;
        }
        await stdout.ConfigureAwait(false);
        var error = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new ProvisioningException(ErrorKind.ProviderFailed,
                $"ssh-keygen could not create '{path}' (exit code {process.ExitCode}): {error.Trim()}", path);
        }
    }

    private static string? Find(string name, params string[] preferred)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in preferred.Concat(path.Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
