using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Templating;

/// <summary>
/// The variables a template sees for one host, later sources winning: the host's built-ins, then its own
/// variables, then the extra variables of the call (-Variable). So <c>-Variable @{ port = 80 }</c> beats a host
/// variable <c>port</c>, which beats the built-in ssh port.
/// </summary>
internal static class TemplateScope
{
    /// <summary>Names of the built-ins, for error messages.</summary>
    public static readonly string[] BuiltInNames = ["name", "address", "port", "user", "roles", "index", "testbed", "workdir"];

    /// <summary>A fresh case-insensitive scope for <paramref name="machine"/>.</summary>
    public static VariableDictionary Create(AgentMachine machine, IReadOnlyDictionary<string, object?>? extra)
    {
        var scope = new VariableDictionary();
        foreach (var name in BuiltInNames)
        {
            if (TryGetBuiltIn(machine, name, out var value)) scope[name] = value;
        }
        foreach (var (key, value) in machine.Variables) scope[key] = value;
        if (extra is not null)
        {
            foreach (var (key, value) in extra) scope[key] = value;
        }
        return scope;
    }

    /// <summary>
    /// A built-in of <paramref name="machine"/>. The user and workdir are absent, not empty, when the testbed does not
    /// set them (ssh config or the login decides), so a template using them fails instead of rendering a blank.
    /// </summary>
    public static bool TryGetBuiltIn(AgentMachine machine, string name, out object? value)
    {
        value = name.ToLowerInvariant() switch
        {
            "name" => machine.Name,
            "address" => machine.Address,
            "port" => machine.Port,
            "user" => machine.User,
            "roles" => machine.Roles,
            "index" => machine.Index,
            "testbed" => machine.Testbed?.Name,
            "workdir" => machine.WorkDir,
            _ => null,
        };
        return value is not null;
    }

    /// <summary>What a machine exposes to <c>{{ server.x }}</c>: its variables, then its built-ins.</summary>
    public static bool TryGetMember(AgentMachine machine, string name, out object? value) =>
        machine.Variables.TryGetValue(name, out value) || TryGetBuiltIn(machine, name, out value);

    /// <summary>Every member name of a machine, for <c>{{#each server}}</c> and suggestions.</summary>
    public static IEnumerable<string> MemberNames(AgentMachine machine) =>
        BuiltInNames.Where(n => TryGetBuiltIn(machine, n, out _)).Concat(machine.Variables.Keys).Distinct(StringComparer.OrdinalIgnoreCase);
}
