using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Templating;

/// <summary>
/// Renders <c>{{ }}</c> templates per host. In scope: the host's built-ins (name, address, port, user, roles,
/// index, testbed), its variables, and extra variables (objects allowed: <c>{{ server.address }}</c>).
/// An undefined variable is an error naming the host and the variable. Helpers: <c>{{ quote x }}</c> shell-quotes.
/// </summary>
public sealed class TemplateRenderer
{
    /// <summary>Renders <paramref name="template"/> for <paramref name="machine"/>. Throws ProvisioningException
    /// (TemplateVariableUndefined or TemplateSyntax) with the machine as target.</summary>
    public string Render(string template, AgentMachine machine, IReadOnlyDictionary<string, object?>? variables = null) => throw new NotImplementedException();
}
