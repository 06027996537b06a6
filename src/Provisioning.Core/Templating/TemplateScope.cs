using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Templating;

/// <summary>
/// The variables a template sees for one host, later sources winning: the testbed's roles, the host's built-ins,
/// then its own variables, then the extra variables of the call (-Variable). So <c>-Variable @{ port = 80 }</c>
/// beats a host variable <c>port</c>, which beats the built-in ssh port.
/// </summary>
/// <remarks>
/// A role is its machine when it has one (<c>{{ server.address }}</c> with no -Variable, as EnOSlib users write
/// with host groups), and the list of its machines otherwise (<c>{{#each client}}</c>, <c>{{ client.[0].address }}</c>).
/// </remarks>
internal static class TemplateScope
{
    /// <summary>Names of the built-ins, for error messages.</summary>
    public static readonly string[] BuiltInNames = ["name", "address", "port", "user", "roles", "index", "testbed", "workdir"];

    /// <summary>A fresh case-insensitive scope for <paramref name="machine"/>.</summary>
    public static VariableDictionary Create(AgentMachine machine, IReadOnlyDictionary<string, object?>? extra)
    {
        var scope = new VariableDictionary();
        if (machine.Testbed is { } testbed)
        {
            var byName = testbed.Machines.ToDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);
            foreach (var (role, names) in testbed.Roles)
            {
                var members = names.Select(n => byName.GetValueOrDefault(n)).OfType<AgentMachine>().ToArray();
                scope[role] = members.Length == 1 ? members[0] : members;
            }
        }
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
