using Provisioning.Core.Transport;
using System.Collections;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using HandlebarsDotNet;
using HandlebarsDotNet.Compiler;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Yaml;

namespace Provisioning.Core.Templating;

/// <summary>
/// Renders <c>{{ }}</c> templates per host. In scope: the host's built-ins (name, address, port, user, roles,
/// index, testbed, workdir), its variables, and extra variables (objects allowed: <c>{{ server.address }}</c>).
/// An undefined variable is an error naming the host and the variable. Helpers: <c>{{ quote x }}</c> shell-quotes.
/// </summary>
/// <remarks>
/// <para>The engine is Handlebars (Handlebars.Net) without HTML escaping. Names are looked up without regard to
/// case. When a name is defined in several places, the extra variables win over the host's variables, which win
/// over the built-ins. <c>user</c> and <c>workdir</c> are undefined (an error if used) when the testbed leaves
/// them to ssh. <c>testbed</c> is the testbed's name.</para>
/// <para>Values: an <see cref="AgentMachine"/> exposes its variables and built-ins (<c>{{ server.port }}</c>);
/// dictionaries expose their keys; other objects their public properties; lists their items
/// (<c>{{ servers.0.address }}</c>, <c>{{#each servers}}{{ address }} {{/each}}</c>). Booleans render as
/// <c>true</c>/<c>false</c>, numbers in the invariant culture, lists as comma-separated items.</para>
/// <para>Helpers: <c>{{ quote x }}</c> quotes for a POSIX shell (<c>'it'\''s'</c>; a list gives each item quoted,
/// separated by spaces); <c>{{ join list ", " }}</c> joins items (default separator <c>,</c>).
/// Write <c>\{{</c> for a literal <c>{{</c>.</para>
/// <para>Strictness: any undefined name is an error, including inside <c>{{#if}}</c> and <c>{{#each}}</c>; a
/// variable that is defined as null renders as nothing.</para>
/// <para>Compiled templates are cached by text and shared by every instance, so rendering one command for 100 hosts
/// compiles it once. <see cref="Render"/> is thread-safe.</para>
/// </remarks>
public sealed partial class TemplateRenderer
{
    private const int MaxCachedTemplates = 1024;

    private static readonly IHandlebars Engine = CreateEngine();
    private static readonly object CompileLock = new();
    private static readonly ConcurrentDictionary<string, Lazy<HandlebarsTemplate<object, object>>> Cache = new(StringComparer.Ordinal);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>Renders <paramref name="template"/> for <paramref name="machine"/>. Throws ProvisioningException
    /// (TemplateVariableUndefined or TemplateSyntax) with the machine as target.</summary>
    public string Render(string template, AgentMachine machine, IReadOnlyDictionary<string, object?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(machine);
        if (!template.Contains("{{", StringComparison.Ordinal)) return template;

        HandlebarsTemplate<object, object> compiled;
        try
        {
            compiled = Compile(template);
        }
        catch (ProvisioningException ex)
        {
            throw new ProvisioningException(ex.Kind, $"{machine.Name}: {ex.Message}", machine, ex);
        }

        var scope = TemplateScope.Create(machine, variables);
        try
        {
            return compiled(scope);
        }
        catch (HandlebarsUndefinedBindingException ex)
        {
            throw new ProvisioningException(ErrorKind.TemplateVariableUndefined,
                $"{machine.Name}: template variable '{ex.Path}' is not defined ({UndefinedHint(ex.Path, scope)}).", machine, ex);
        }
        catch (ProvisioningException ex)
        {
            throw new ProvisioningException(ex.Kind, $"{machine.Name}: {ex.Message}", machine, ex);
        }
        catch (HandlebarsException ex)
        {
            throw new ProvisioningException(ErrorKind.TemplateSyntax,
                $"{machine.Name}: the template cannot be rendered: {Clean(ex.Message)}", machine, ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A value's own code failed (a property getter, ToString): still this host's error, not a crash.
            throw new ProvisioningException(ErrorKind.Internal,
                $"{machine.Name}: the template cannot be rendered: {ex.Message}", machine, ex);
        }
    }

    /// <summary>
    /// Checks that <paramref name="template"/> is well formed, without rendering it, so a caller can reject a bad
    /// template once instead of once per host. Throws ProvisioningException(TemplateSyntax) with the template as target.
    /// </summary>
    public void Validate(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (template.Contains("{{", StringComparison.Ordinal)) Compile(template);
    }

    private static HandlebarsTemplate<object, object> Compile(string template)
    {
        // Crude bound on memory: a session rarely uses this many distinct templates; start over when it does.
        if (Cache.Count > MaxCachedTemplates) Cache.Clear();
        // Lazy caches a failure too, so a bad template for 100 hosts is parsed once.
        var entry = Cache.GetOrAdd(template, t => new Lazy<HandlebarsTemplate<object, object>>(() => CompileNow(t)));
        return entry.Value;
    }

    private static HandlebarsTemplate<object, object> CompileNow(string template)
    {
        if (UnclosedOpening(template) is { } position)
            throw new ProvisioningException(ErrorKind.TemplateSyntax,
                $"the template is not valid: '{{{{' at position {position + 1} is not closed by '}}}}'.", template);
        try
        {
            // Handlebars documents compilation as safe to share, not to run concurrently on one environment; it is rare, so serialise it.
            lock (CompileLock) return Engine.Compile(template);
        }
        catch (Exception ex) when (ex is HandlebarsException or InvalidOperationException or ArgumentException)
        {
            throw new ProvisioningException(ErrorKind.TemplateSyntax, $"the template is not valid: {Clean(ex.Message)}", template, ex);
        }
    }

    /// <summary>The index of a <c>{{</c> with no <c>}}</c> after it (Handlebars reports that one obscurely), or null.</summary>
    private static int? UnclosedOpening(string template)
    {
        var last = template.LastIndexOf("{{", StringComparison.Ordinal);
        while (last > 0 && template[last - 1] == '\\') last = template.LastIndexOf("{{", last - 1, StringComparison.Ordinal);
        if (last < 0 || (last > 0 && template[last - 1] == '\\')) return null;
        return template.IndexOf("}}", last + 2, StringComparison.Ordinal) < 0 ? last : null;
    }

    private static string UndefinedHint(string path, VariableDictionary scope)
    {
        var segments = path.Split('.');
        var builtIns = string.Join(", ", TemplateScope.BuiltInNames);
        if (segments.Length == 1)
        {
            var known = scope.Keys.Concat(TemplateScope.BuiltInNames);
            var suggestion = SpellingSuggestion.Closest(path, known) is { } match && !string.Equals(match, path, StringComparison.OrdinalIgnoreCase)
                ? $"did you mean '{match}'? "
                : "";
            var why = path.ToLowerInvariant() switch
            {
                "user" => "the testbed sets no user for this host, so ssh decides it; ",
                "workdir" => "the testbed sets no workdir for this host; ",
                _ => "",
            };
            return $"{suggestion}{why}define it in the testbed's vars, with Set-AgentVariable or with -Variable; built-ins are {builtIns}; a role name is its machine(s)";
        }

        var parent = Resolve(scope, segments[..^1]);
        var member = segments[^1];
        var members = parent switch
        {
            AgentMachine machine => TemplateScope.MemberNames(machine),
            IDictionary dictionary => dictionary.Keys.OfType<string>(),
            IEnumerable => [],
            null => [],
            _ => parent.GetType().GetProperties().Select(p => p.Name),
        };
        if (parent is IReadOnlyList<AgentMachine> { Count: not 1 } role)
            return $"'{string.Join('.', segments[..^1])}' is a role of {role.Count} machines, not one machine: use {{{{#each {segments[^2]}}}}}...{{{{/each}}}} or pick one with '{string.Join('.', segments[..^1])}.[0].{member}'";
        var hint = SpellingSuggestion.Closest(member, members) is { } closest ? $"did you mean '{closest}'? " : "";
        return $"{hint}'{string.Join('.', segments[..^1])}' has no member '{member}'";
    }

    /// <summary>Follows a dotted path from the root scope, for the error hint only (paths inside blocks may not resolve).</summary>
    private static object? Resolve(VariableDictionary scope, string[] segments)
    {
        object? current = scope;
        foreach (var segment in segments)
        {
            var key = segment.Trim('[', ']');
            current = current switch
            {
                AgentMachine machine => TemplateScope.TryGetMember(machine, key, out var v) ? v : null,
                IDictionary dictionary => TemplateObjectDescriptors.CaseInsensitiveDictionaryAccessor.TryGet(dictionary, key, out var v) ? v : null,
                IList list => int.TryParse(key, out var i) && i >= 0 && i < list.Count ? list[i] : null,
                null => null,
                _ => current.GetType().GetProperties().FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase) && p.GetIndexParameters().Length == 0)?.GetValue(current),
            };
            if (current is null) return null;
        }
        return current;
    }

    private static string Clean(string message) => Whitespace().Replace(message, " ").Trim();

    private static IHandlebars CreateEngine()
    {
        var configuration = new HandlebarsConfiguration
        {
            // Commands, paths and files are not HTML.
            NoEscape = true,
            // Undefined names must fail, never render as blanks.
            ThrowOnUnresolvedBindingExpression = true,
            FormatProvider = System.Globalization.CultureInfo.InvariantCulture,
        };
        configuration.FormatterProviders.Add(new TemplateValueText());
        configuration.ObjectDescriptorProviders.Add(new TemplateObjectDescriptors());
        var engine = Handlebars.Create(configuration);
        engine.RegisterHelper("quote", (HandlebarsReturnHelper)Quote);
        engine.RegisterHelper("join", (HandlebarsReturnHelper)Join);
        return engine;
    }

    private static object Quote(Context context, Arguments arguments)
    {
        if (arguments.Length != 1)
            throw new ProvisioningException(ErrorKind.TemplateSyntax, $"'quote' takes one value ({{{{ quote name }}}}), not {arguments.Length}.");
        var value = arguments[0];
        return value is IEnumerable and not string and not IDictionary
            ? string.Join(" ", TemplateValueText.Items(value).Select(v => PosixShell.Quote(TemplateValueText.Format(v))))
            : PosixShell.Quote(TemplateValueText.Format(value));
    }

    private static object Join(Context context, Arguments arguments)
    {
        if (arguments.Length is < 1 or > 2)
            throw new ProvisioningException(ErrorKind.TemplateSyntax, $"'join' takes a list and an optional separator ({{{{ join servers \", \" }}}}), not {arguments.Length} values.");
        var separator = arguments.Length == 2 ? TemplateValueText.Format(arguments[1]) : ",";
        return string.Join(separator, TemplateValueText.Items(arguments[0]).Select(TemplateValueText.Format));
    }
}
