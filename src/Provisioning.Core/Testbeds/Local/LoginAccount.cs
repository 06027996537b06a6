using System.Globalization;
using System.Runtime.Versioning;

namespace Provisioning.Core.Testbeds.Local;

/// <summary>
/// The account agents run as and accept logins for: the current user. A non-root sshd can only
/// authenticate the user it runs as, so the testbed's login user is always the controller's user.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed record LoginAccount(int UserId, string UserName, string Home, bool PasswordLocked)
{
    /// <summary>True for root: sshd may then bind, use namespaces and must be told root may log in.</summary>
    public bool IsRoot => UserId == 0;

    /// <summary>Reads the current user's id, name and home (from /etc/passwd, as sshd does).</summary>
    public static LoginAccount Current()
    {
        var uid = LinuxProcesses.EffectiveUserId();
        string? name = null, home = null;
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length >= 7 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id == uid)
                {
                    name = f[0];
                    home = f[5];
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        name ??= Environment.UserName;
        home ??= Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new LoginAccount(uid, name, home, uid == 0 && ShadowPasswordLocked(name));
    }

    // With UsePAM no, sshd refuses an account whose shadow password starts with '!' (locked), even for
    // key logins; root is often locked that way in containers. Only root can read /etc/shadow.
    private static bool ShadowPasswordLocked(string user)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/shadow"))
            {
                var f = line.Split(':');
                if (f.Length >= 2 && f[0] == user) return f[1].StartsWith('!');
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return false;
    }
}
