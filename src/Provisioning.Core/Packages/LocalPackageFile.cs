using System.Diagnostics;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Packages;

/// <summary>A package file on the controller given with <c>-Path</c> (.deb, .whl, .tgz): what it installs, read on the controller.</summary>
internal sealed record LocalPackageFile(string FullPath, PackageManager Manager, string Name, string Version, string Sha256, long Size)
{
    /// <summary>The file's name on the host.</summary>
    public string FileName => Path.GetFileName(FullPath);

    /// <summary>The manager a file's extension names, or null.</summary>
    public static PackageManager? ManagerOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".deb" => PackageManager.Apt,
        ".whl" => PackageManager.Pip,
        ".tgz" => PackageManager.Npm,
        _ => null,
    };

    /// <summary>Reads the package's name and version from the file (dpkg-deb when the controller has it, else the Debian file name).</summary>
    /// <exception cref="ProvisioningException">The file is missing (<see cref="ErrorKind.LocalPathNotFound"/>) or not a package (<see cref="ErrorKind.PackageSpecInvalid"/>).</exception>
    public static LocalPackageFile Read(string path)
    {
        if (!File.Exists(path)) throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"The package file '{path}' does not exist.", path);
        var manager = ManagerOf(path) ?? throw new ProvisioningException(ErrorKind.PackageSpecInvalid,
            $"'{path}' is not a package file: -Path takes .deb, .whl and .tgz files.", path);
        var relative = Path.GetFileName(path);
        var entry = manager switch
        {
            PackageManager.Pip => WheelFile.Describe(path, relative),
            PackageManager.Npm => NpmTarball.Describe(path, relative),
            _ => DescribeDeb(path),
        };
        if (entry is null || entry.Name.Length == 0)
            throw new ProvisioningException(ErrorKind.PackageSpecInvalid, $"'{path}' is not a valid {manager.ToString().ToLowerInvariant()} package file.", path);
        return new LocalPackageFile(Path.GetFullPath(path), manager, entry.Name, entry.Version, entry.Sha256, entry.Size);
    }

    private static PackageCacheEntry? DescribeDeb(string path)
    {
        string? name = null, version = null;
        try
        {
            var start = new ProcessStartInfo("dpkg-deb", ["-f", path, "Package", "Version"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(start)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            foreach (var line in output.Split('\n'))
            {
                if (line.StartsWith("Package: ", StringComparison.Ordinal)) name = line[9..].Trim();
                if (line.StartsWith("Version: ", StringComparison.Ordinal)) version = line[9..].Trim();
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No dpkg-deb on this controller: the Debian file name (name_version_arch.deb) says the same.
        }
        if (name is null || version is null)
        {
            var parts = Path.GetFileNameWithoutExtension(path).Split('_');
            if (parts.Length < 2) return null;
            (name, version) = (parts[0], Uri.UnescapeDataString(parts[1]));
        }
        return new PackageCacheEntry { Manager = PackageManager.Apt, Name = name, Version = version, Sha256 = WheelFile.Sha256(path), Size = new FileInfo(path).Length, File = Path.GetFileName(path) };
    }
}
