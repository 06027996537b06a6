using System.Collections;
using System.Globalization;
using Provisioning.Core.Errors;
using Provisioning.Core.Templating;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

public sealed class TemplateRendererTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Testbed _testbed;
    private readonly TemplateRenderer _renderer = new();

    public TemplateRendererTests()
    {
        _testbed = TestbedLoader.Parse("""
            name: lab
            state_dir: ./state
            defaults:
              user: exp
              workdir: /tmp/w
              vars: { iface: eth0, enabled: true, ratio: 0.5 }
            hosts:
              server:
                address: 10.0.0.1
                port: 2222
                vars: { Secret_Port: 8443, motto: "it's <fine> & \"ok\"" }
              client[1-2]:
            roles:
              servers: server
              clients: client[1-2]
              everyone: [server, "client[1-2]"]
            """, _dir.Combine("lab.yaml"));
    }

    public void Dispose() => _dir.Dispose();

    private AgentMachine Server => _testbed["server"]!;
    private AgentMachine Client1 => _testbed["client1"]!;

    private string Render(string template, AgentMachine? machine = null, IReadOnlyDictionary<string, object?>? variables = null) =>
        _renderer.Render(template, machine ?? Client1, variables);

    private ProvisioningException Fails(string template, AgentMachine? machine = null, IReadOnlyDictionary<string, object?>? variables = null)
    {
        machine ??= Client1;
        var ex = Assert.Throws<ProvisioningException>(() => _renderer.Render(template, machine, variables));
        Assert.Same(machine, ex.Target);
        Assert.StartsWith($"{machine.Name}: ", ex.Message);
        return ex;
    }

    [Fact]
    public void Renders_the_built_ins() =>
        Assert.Equal("server 10.0.0.1 2222 exp servers,everyone 0 lab /tmp/w",
            Render("{{ name }} {{ address }} {{ port }} {{ user }} {{ roles }} {{ index }} {{ testbed }} {{ workdir }}", Server));

    [Fact]
    public void A_role_of_one_machine_is_that_machine() =>
        Assert.Equal("connect 10.0.0.1:8443 as client1", Render("connect {{ servers.address }}:{{ servers.secret_port }} as {{ name }}"));

    [Fact]
    public void A_role_of_several_machines_is_their_list() =>
        Assert.Equal("client1 client2 | client2", Render("{{#each clients}}{{ name }} {{/each}}| {{ clients.[1].name }}", Server));

    [Fact]
    public void A_member_of_a_role_of_several_machines_says_to_pick_one()
    {
        var ex = Fails("{{ clients.address }}");
        Assert.Equal(ErrorKind.TemplateVariableUndefined, ex.Kind);
        Assert.Contains("'clients' is a role of 2 machines", ex.Message);
        Assert.Contains("clients.[0].address", ex.Message);
    }

    [Fact]
    public void Host_variables_and_call_variables_win_over_role_names()
    {
        Assert.Equal("call", Render("{{ servers }}", Server, new Dictionary<string, object?> { ["servers"] = "call" }));
        Server.Variables["clients"] = "host";
        try
        {
            Assert.Equal("host", Render("{{ clients }}", Server));
            Assert.Equal("client1", Render("{{ clients.[0].name }}", Client1));
        }
        finally
        {
            Server.Variables.Remove("clients");
        }
    }

    [Fact]
    public void Spaces_inside_braces_are_optional() =>
        Assert.Equal("client1|client1|client1", Render("{{name}}|{{ name }}|{{   name   }}"));

    [Fact]
    public void Text_without_braces_comes_back_unchanged()
    {
        const string command = "echo 'plain' && ls -l";
        Assert.Same(command, Render(command));
    }

    [Fact]
    public void Values_are_not_HTML_escaped() =>
        Assert.Equal("it's <fine> & \"ok\"", Render("{{ motto }}", Server));

    [Fact]
    public void Host_variables_are_in_scope_without_regard_to_case() =>
        Assert.Equal("8443 eth0 8443", Render("{{ secret_port }} {{ IFACE }} {{ SECRET_PORT }}", Server));

    [Fact]
    public void Booleans_are_lower_case_and_numbers_invariant_whatever_the_culture()
    {
        var previous = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo.CurrentCulture = comma;
        try
        {
            Assert.Equal("true 0.5 1.25", Render("{{ enabled }} {{ ratio }} {{ x }}", variables: new Dictionary<string, object?> { ["x"] = 1.25 }));
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void Extra_variables_win_over_host_variables_which_win_over_built_ins()
    {
        var extra = new Dictionary<string, object?> { ["iface"] = "ib0" };
        Assert.Equal("ib0", Render("{{ iface }}", Server, extra));
        Client1.Variables["name"] = "from-var";
        try
        {
            Assert.Equal("from-var", Render("{{ name }}"));
            Assert.Equal("from-extra", Render("{{ name }}", variables: new Dictionary<string, object?> { ["NAME"] = "from-extra" }));
        }
        finally
        {
            Client1.Variables.Remove("name");
        }
    }

    [Fact]
    public void A_machine_passed_as_a_variable_exposes_its_built_ins_and_variables()
    {
        var extra = new Dictionary<string, object?> { ["server"] = Server };
        Assert.Equal("10.0.0.1:2222 8443 server eth0", Render("{{ server.address }}:{{ server.port }} {{ server.secret_port }} {{ server }} {{ Server.IFACE }}", variables: extra));
    }

    [Fact]
    public void A_machine_can_be_iterated_as_its_members() =>
        Assert.Equal("name=server;address=10.0.0.1;port=2222;",
            string.Concat(Render("{{#each server}}{{ @key }}={{ this }};{{/each}}", variables: new Dictionary<string, object?> { ["server"] = Server })
                .Split(';', StringSplitOptions.RemoveEmptyEntries).Take(3).Select(p => p + ";")));

    [Fact]
    public void Hashtables_and_dictionaries_are_looked_up_without_regard_to_case()
    {
        var extra = new Dictionary<string, object?>
        {
            ["ht"] = new Hashtable { ["Key"] = "hv", ["Nested"] = new Hashtable { ["Deep"] = 1 } },
            ["dict"] = new Dictionary<string, object> { ["Port"] = 80 },
        };
        Assert.Equal("hv 1 80", Render("{{ ht.key }} {{ HT.nested.DEEP }} {{ dict.port }}", variables: extra));
        var single = new Dictionary<string, object?> { ["ht"] = new Hashtable { ["Key"] = "hv" } };
        Assert.Equal("[hv]", Render("{{#with ht}}[{{ key }}]{{/with}}", variables: single));
        Assert.Equal("Key=hv;", Render("{{#each ht}}{{ @key }}={{ this }};{{/each}}", variables: single));
    }

    private sealed record Endpoint(string Address, int Port);

    [Fact]
    public void Object_properties_are_looked_up_without_regard_to_case() =>
        Assert.Equal("10.1.1.1:9000", Render("{{ ep.address }}:{{ ep.PORT }}", variables: new Dictionary<string, object?> { ["ep"] = new Endpoint("10.1.1.1", 9000) }));

    [Fact]
    public void Lists_can_be_indexed_iterated_and_joined()
    {
        var servers = new List<AgentMachine> { Server, Client1 };
        var extra = new Dictionary<string, object?> { ["servers"] = servers, ["ports"] = new object[] { 1, 2, 3 } };
        Assert.Equal("10.0.0.1 client1", Render("{{ servers.0.address }} {{ servers.[1].name }}", variables: extra));
        Assert.Equal("10.0.0.1:2222 client1:22 ", Render("{{#each servers}}{{ address }}:{{ port }} {{/each}}", variables: extra));
        Assert.Equal("1 2 3|1,2,3|1,2,3", Render("{{ join ports \" \" }}|{{ join ports }}|{{ ports }}", variables: extra));
        Assert.Equal("servers everyone", Render("{{ join roles \" \" }}", Server));
    }

    [Fact]
    public void Quote_makes_one_shell_word() =>
        Assert.Equal(@"echo 'it'\''s <fine> & ""ok""' '8443' 'true' ''", Render("echo {{ quote motto }} {{ quote secret_port }} {{ quote enabled }} {{ quote empty }}", Server,
            new Dictionary<string, object?> { ["empty"] = "" }));

    [Fact]
    public void Quote_on_a_list_quotes_each_item() =>
        Assert.Equal("ls 'a b' 'c'", Render("ls {{ quote files }}", variables: new Dictionary<string, object?> { ["files"] = new[] { "a b", "c" } }));

    [Fact]
    public void Quote_works_on_a_subexpression() =>
        Assert.Equal("'servers everyone'", Render("{{ quote (join roles \" \") }}", Server));

    [Fact]
    public void A_variable_defined_as_null_renders_as_nothing() =>
        Assert.Equal("[]", Render("[{{ nothing }}]", variables: new Dictionary<string, object?> { ["nothing"] = null }));

    [Fact]
    public void Escaped_braces_stay_literal() =>
        Assert.Equal("docker inspect --format '{{ .State }}' client1", Render(@"docker inspect --format '\{{ .State }}' {{ name }}"));

    [Fact]
    public void An_undefined_variable_is_an_error_naming_host_and_variable()
    {
        var ex = Fails("echo {{ missing }}");
        Assert.Equal(ErrorKind.TemplateVariableUndefined, ex.Kind);
        Assert.StartsWith("client1: template variable 'missing' is not defined (", ex.Message);
    }

    [Fact]
    public void A_misspelt_variable_gets_a_suggestion()
    {
        var ex = Fails("{{ adress }}");
        Assert.Contains("template variable 'adress' is not defined (did you mean 'address'?", ex.Message);
    }

    [Fact]
    public void An_undefined_member_names_the_whole_path_and_suggests()
    {
        var ex = Fails("{{ server.adress }}", variables: new Dictionary<string, object?> { ["server"] = Server });
        Assert.Equal(ErrorKind.TemplateVariableUndefined, ex.Kind);
        Assert.Contains("template variable 'server.adress' is not defined (did you mean 'address'? 'server' has no member 'adress')", ex.Message);
    }

    [Fact]
    public void An_undefined_variable_is_an_error_inside_blocks_and_helpers_too()
    {
        Assert.Equal(ErrorKind.TemplateVariableUndefined, Fails("{{#if debug}}-v{{/if}}").Kind);
        Assert.Equal(ErrorKind.TemplateVariableUndefined, Fails("{{ quote missing }}").Kind);
        Assert.Contains("'missing'", Fails("{{ quote missing }}").Message);
    }

    [Fact]
    public void User_and_workdir_are_undefined_when_the_testbed_leaves_them_to_ssh()
    {
        var bare = new AgentMachine("bare", "bare.example", 0, [], new ConnectionSettings());
        var ex = Fails("{{ user }}", bare);
        Assert.Equal(ErrorKind.TemplateVariableUndefined, ex.Kind);
        Assert.Contains("the testbed sets no user for this host", ex.Message);
        Assert.Equal(ErrorKind.TemplateVariableUndefined, Fails("cd {{ workdir }}", bare).Kind);
    }

    [Theory]
    [InlineData("{{#if x}}never closed")]
    [InlineData("{{/if}}")]
    [InlineData("{{ name }")]
    [InlineData("echo {{ name")]
    [InlineData("{{ name }}}")]
    [InlineData("{{> nosuchpartial }}")]
    public void Syntax_errors_are_TemplateSyntax(string template) =>
        Assert.Equal(ErrorKind.TemplateSyntax, Fails(template).Kind);

    [Fact]
    public void Unclosed_braces_say_where()
    {
        var ex = Fails("echo {{ name");
        Assert.Contains("'{{' at position 6 is not closed by '}}'", ex.Message);
    }

    [Fact]
    public void Helpers_given_the_wrong_number_of_values_are_TemplateSyntax()
    {
        var ex = Fails("{{ quote name address }}");
        Assert.Equal(ErrorKind.TemplateSyntax, ex.Kind);
        Assert.Contains("'quote' takes one value", ex.Message);
    }

    [Fact]
    public void Validate_checks_syntax_without_a_machine()
    {
        _renderer.Validate("{{ anything.at.all }} is fine until rendered");
        var ex = Assert.Throws<ProvisioningException>(() => _renderer.Validate("{{#each x}}"));
        Assert.Equal(ErrorKind.TemplateSyntax, ex.Kind);
        Assert.Equal("{{#each x}}", ex.Target);
    }

    [Fact]
    public void Rendering_is_thread_safe_and_each_host_gets_its_own_values()
    {
        var machines = Enumerable.Range(0, 200)
            .Select(i => new AgentMachine($"h{i}", $"10.9.{i / 256}.{i % 256}", i, [], new ConnectionSettings(), new VariableDictionary { ["slot"] = i * 2 }))
            .ToArray();
        var extra = new Dictionary<string, object?> { ["server"] = Server };
        var results = new string[machines.Length];
        Parallel.For(0, machines.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            results[i] = _renderer.Render("{{ name }}@{{ address }} slot={{ slot }} via {{ server.address }} {{ quote name }}", machines[i], extra));
        for (var i = 0; i < machines.Length; i++)
            Assert.Equal($"h{i}@{machines[i].Address} slot={i * 2} via 10.0.0.1 'h{i}'", results[i]);
    }
}
