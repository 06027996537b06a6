using System.Text.RegularExpressions;

namespace Provisioning.Core.Journal;

/// <summary>
/// The one rule for what the journal never keeps: a value whose name (a parameter, a variable, a table key at any
/// depth) contains password, passwd, passphrase, secret, token, credential or key is replaced by <see cref="Placeholder"/>.
/// </summary>
public static partial class SecretNames
{
    /// <summary>What a secret value becomes.</summary>
    public const string Placeholder = "***";

    /// <summary>True for names such as password, ApiToken, ssh_key, key_passphrase or client_secret.</summary>
    public static bool IsSecret(string name) => SecretName().IsMatch(name);

    [GeneratedRegex("password|passwd|passphrase|secret|token|credential|key", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();
}
