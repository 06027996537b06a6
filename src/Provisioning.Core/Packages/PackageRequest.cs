using System.Text.RegularExpressions;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Packages;

/// <summary>One package asked for: its name and, when pinned, its version.</summary>
/// <param name="Name">The name as the manager knows it.</param>
/// <param name="Version">The wanted version; null for any (install) or the candidate.</param>
public sealed partial record PackageRequest(string Name, string? Version)
{
    /// <summary>
    /// Reads <c>name</c>, <c>name=version</c> (apt), <c>name==version</c> (pip) or <c>name@version</c> (npm, where a
    /// leading '@' is a scope); <paramref name="version"/> (-Version) pins a name given without one.
    /// </summary>
    /// <exception cref="ProvisioningException">The text is not a package name of that manager (<see cref="ErrorKind.PackageSpecInvalid"/>).</exception>
    public static PackageRequest Parse(string text, PackageManager manager, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        string name;
        string? pinned = null;
        int at;
        switch (manager)
        {
            case PackageManager.Apt when (at = t.IndexOf('=', StringComparison.Ordinal)) > 0:
                (name, pinned) = (t[..at], t[(at + 1)..]);
                break;
            case PackageManager.Pip when (at = t.IndexOf("==", StringComparison.Ordinal)) > 0:
                (name, pinned) = (t[..at], t[(at + 2)..]);
                break;
            case PackageManager.Npm when (at = t.IndexOf('@', 1)) > 0:
                (name, pinned) = (t[..at], t[(at + 1)..]);
                break;
            default:
                name = t;
                break;
        }
        if (pinned is not null && version is not null && pinned != version)
            throw new ProvisioningException(ErrorKind.PackageSpecInvalid, $"'{text}' pins version {pinned}, but -Version says {version}.", text);
        pinned ??= version;
        var valid = manager switch
        {
            PackageManager.Apt => AptName().IsMatch(name),
            PackageManager.Pip => PipName().IsMatch(name),
            _ => NpmName().IsMatch(name),
        };
        if (!valid)
            throw new ProvisioningException(ErrorKind.PackageSpecInvalid, $"'{text}' is not a valid {manager.ToString().ToLowerInvariant()} package name.", text);
        if (pinned is not null && (pinned.Length == 0 || !VersionText().IsMatch(pinned)))
            throw new ProvisioningException(ErrorKind.PackageSpecInvalid, $"'{text}': '{pinned}' is not a valid version.", text);
        return new PackageRequest(manager == PackageManager.Apt ? name.ToLowerInvariant() : name, pinned);
    }

    /// <summary>The request as the manager's command line takes it.</summary>
    public string ToArgument(PackageManager manager) => Version is null ? Name : manager switch
    {
        PackageManager.Apt => $"{Name}={Version}",
        PackageManager.Pip => $"{Name}=={Version}",
        _ => $"{Name}@{Version}",
    };

    /// <summary>pip's normalized form of a name (PEP 503): lower case, runs of '-', '_' and '.' as one '-'.</summary>
    public static string NormalizePip(string name) => PipSeparators().Replace(name.ToLowerInvariant(), "-");

    /// <summary>True when <paramref name="installedName"/> is this request's package for <paramref name="manager"/>.</summary>
    public bool Names(string installedName, PackageManager manager) => manager == PackageManager.Pip
        ? NormalizePip(installedName) == NormalizePip(Name)
        : string.Equals(installedName, Name, manager == PackageManager.Apt ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9+.\-]*(:[a-z0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex AptName();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9._\-]*[A-Za-z0-9])?(\[[A-Za-z0-9,._\-]+\])?$", RegexOptions.CultureInvariant)]
    private static partial Regex PipName();

    [GeneratedRegex(@"^(@[a-z0-9][a-z0-9._\-~]*/)?[a-z0-9][a-z0-9._\-~]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NpmName();

    [GeneratedRegex(@"^[A-Za-z0-9.+~:_\-*]+$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionText();

    [GeneratedRegex(@"[-_.]+", RegexOptions.CultureInvariant)]
    private static partial Regex PipSeparators();
}
