namespace Provisioning.Core.Testbeds;

/// <summary>
/// Ansible host patterns over a testbed: <c>a:b</c> union, <c>a:&amp;b</c> intersection, <c>a:!b</c> exclusion;
/// each term is a role, a host name, a range or a wildcard (<c>web*</c>); <c>all</c> and <c>*</c> select everything.
/// </summary>
public static class HostPattern
{
    /// <summary>Machines matching <paramref name="pattern"/>, in testbed order. Throws ProvisioningException(PatternInvalid) when malformed.</summary>
    public static IReadOnlyList<AgentMachine> Select(Testbed testbed, string pattern) => throw new NotImplementedException();
}
