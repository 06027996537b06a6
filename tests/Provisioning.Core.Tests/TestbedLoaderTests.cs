using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

public sealed class TestbedLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string StateRoot => _dir.Combine("state-root");

    private Testbed Load(string yaml, string fileName = "lab.yaml") =>
        TestbedLoader.Load(_dir.Write(fileName, yaml), StateRoot);

    private TestbedFormatException Fails(string yaml)
    {
        var path = _dir.Write("bad.yaml", yaml);
        var ex = Assert.Throws<TestbedFormatException>(() => TestbedLoader.Load(path, StateRoot));
        Assert.Equal(path, ex.File);
        Assert.Equal(ErrorKind.TestbedFormat, ex.Kind);
        Assert.StartsWith($"{path}:{ex.Line}:{ex.Column}: ", ex.Message);
        return ex;
    }

    private static void AssertAt(TestbedFormatException ex, long line, long column, string? key, string problemPart)
    {
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.Equal(key, ex.Key);
        Assert.Contains(problemPart, ex.Problem);
    }

    [Fact]
    public void Loads_a_full_testbed_with_defaults_overrides_ranges_and_roles()
    {
        var testbed = Load("""
            name: lab
            defaults:
              user: exp
              port: 2200
              proxy_jump: gw.example.org
              trust_new_host_keys: true
              workdir: /tmp/exp
              vars: { iface: eth0, rate: 10 }
            hosts:
              server:
                address: 10.0.0.1
                port: 22
                user: root
                trust_new_host_keys: false
                vars: { iface: eth1, role_note: main }
              node[01-03]:
              gpu[1-2]:
                address: 10.0.1.[7-8]
            roles:
              servers: server
              clients:
                - node[01-03]
                - gpu[1-2]
              empty: []
            """);

        Assert.Equal("lab", testbed.Name);
        Assert.Equal("Static", testbed.Provider);
        Assert.Equal(_dir.Combine("lab.yaml"), testbed.SourcePath);
        Assert.Equal(["server", "node01", "node02", "node03", "gpu1", "gpu2"], testbed.Machines.Select(m => m.Name));
        Assert.Equal([0, 1, 2, 3, 4, 5], testbed.Machines.Select(m => m.Index));
        Assert.All(testbed.Machines, m => Assert.Same(testbed, m.Testbed));

        var server = testbed["server"]!;
        Assert.Equal(("10.0.0.1", 22, "root", false), (server.Address, server.Port, server.User, server.Connection.TrustNewHostKeys));
        Assert.Equal("gw.example.org", server.Connection.ProxyJump);
        Assert.Equal("/tmp/exp", server.WorkDir);
        Assert.Equal("eth1", server.Variables["IFACE"]);
        Assert.Equal(10L, server.Variables["rate"]);
        Assert.Equal("main", server.Variables["role_note"]);
        Assert.Equal(["servers"], server.Roles);

        var node = testbed["NODE02"]!;
        Assert.Equal(("node02", 2200, "exp", true), (node.Address, node.Port, node.User, node.Connection.TrustNewHostKeys));
        Assert.Equal("eth0", node.Variables["iface"]);
        Assert.False(node.Variables.ContainsKey("role_note"));
        Assert.Equal(["clients"], node.Roles);

        Assert.Equal(["10.0.1.7", "10.0.1.8"], testbed.Machines.Where(m => m.Name.StartsWith("gpu")).Select(m => m.Address));
        Assert.Equal(["server"], testbed.Roles["servers"]);
        Assert.Equal(["node01", "node02", "node03", "gpu1", "gpu2"], testbed.Roles["CLIENTS"]);
        Assert.Empty(testbed.Roles["empty"]);
    }

    [Fact]
    public void The_example_in_the_loader_docs_loads()
    {
        var testbed = Load("""
            name: lab
            state_dir: ./state
            defaults:
              user: exp
              port: 22
              identity_file: ~/.ssh/id_ed25519
              proxy_jump: gw.example.org
              known_hosts: ./known_hosts
              trust_new_host_keys: false
              workdir: /tmp/exp
              vars: { iface: eth0 }
            hosts:
              server: { address: 10.0.0.1, vars: { iface: eth1 } }
              node[01-20]:
              gpu[1-2]:
                address: 10.0.1.[1-2]
                port: 2222
            roles:
              servers: server
              clients: ["node[01-20]", "gpu[1-2]"]
            """);
        Assert.Equal(23, testbed.Machines.Count);
        Assert.Equal(22, testbed.Roles["clients"].Count);
        Assert.Equal(("10.0.1.2", 2222), (testbed["gpu2"]!.Address, testbed["gpu2"]!.Port));
    }

    [Fact]
    public void Name_defaults_to_the_file_name_and_an_omitted_address_is_the_host_name()
    {
        var testbed = Load("hosts:\n  alias-from-ssh-config:\n", "grid5000-lyon.yml");
        Assert.Equal("grid5000-lyon", testbed.Name);
        var machine = Assert.Single(testbed.Machines);
        Assert.Equal("alias-from-ssh-config", machine.Address);
        Assert.Equal(22, machine.Port);
        Assert.Null(machine.User);
        Assert.Null(machine.WorkDir);
        Assert.Empty(machine.Roles);
    }

    [Fact]
    public void Variables_are_typed_like_YAML_plain_scalars_and_quoted_ones_stay_strings()
    {
        var vars = Load("""
            hosts:
              h:
                vars:
                  count: 42
                  negative: -7
                  ratio: 0.25
                  on: true
                  off: False
                  nothing: ~
                  empty:
                  quoted_number: "42"
                  single_quoted_bool: 'true'
                  text: hello world
                  version: 1.10
                  mode: 0755
                  two: 2.0
                  yes_is_text: yes
                  tagged_str: !!str 12
                  tagged_int: !!int 0755
                  bang: ! 12
                  list: [1, two, 3.5]
                  nested: { Key: value, deeper: { n: 1 } }
            """).Machines[0].Variables;

        Assert.Equal(42L, vars["count"]);
        Assert.Equal(-7L, vars["negative"]);
        Assert.Equal(0.25, vars["ratio"]);
        Assert.Equal(true, vars["on"]);
        Assert.Equal(false, vars["off"]);
        Assert.Null(vars["nothing"]);
        Assert.True(vars.ContainsKey("nothing"));
        Assert.Null(vars["empty"]);
        Assert.Equal("42", vars["quoted_number"]);
        Assert.Equal("true", vars["single_quoted_bool"]);
        Assert.Equal("hello world", vars["text"]);
        // Numbers whose text would not survive a round trip stay strings, so templates render what was written.
        Assert.Equal("1.10", vars["version"]);
        Assert.Equal("0755", vars["mode"]);
        Assert.Equal("2.0", vars["two"]);
        Assert.Equal("yes", vars["yes_is_text"]);
        Assert.Equal("12", vars["tagged_str"]);
        Assert.Equal(755L, vars["tagged_int"]);
        Assert.Equal("12", vars["bang"]);
        Assert.Equal(new List<object?> { 1L, "two", 3.5 }, Assert.IsType<List<object?>>(vars["list"]));
        var nested = Assert.IsType<VariableDictionary>(vars["nested"]);
        Assert.Equal("value", nested["key"]);
        Assert.Equal(1L, Assert.IsType<VariableDictionary>(nested["DEEPER"])["n"]);
    }

    [Fact]
    public void Host_vars_override_defaults_key_by_key_and_every_machine_owns_its_copy()
    {
        var testbed = Load("""
            defaults:
              vars: { a: 1, b: 2, shared: { x: 1 } }
            hosts:
              h1: { vars: { B: 3, c: 4 } }
              h[2-3]:
            """);
        var h1 = testbed["h1"]!.Variables;
        Assert.Equal(1L, h1["a"]);
        Assert.Equal(3L, h1["b"]);
        Assert.Equal(4L, h1["c"]);

        // A change on one machine (Set-AgentVariable) must not leak into another that got the same defaults.
        ((VariableDictionary)testbed["h2"]!.Variables["shared"]!)["x"] = 99L;
        Assert.Equal(1L, ((VariableDictionary)testbed["h3"]!.Variables["shared"]!)["x"]);
        Assert.Equal(1L, ((VariableDictionary)h1["shared"]!)["x"]);
    }

    [Fact]
    public void Anchors_and_aliases_can_share_values()
    {
        var testbed = Load("""
            defaults:
              vars:
                common: &common { iface: eth2 }
            hosts:
              a: { vars: *common }
            """);
        Assert.Equal("eth2", testbed["a"]!.Variables["iface"]);
    }

    [Fact]
    public void Local_paths_expand_tilde_and_resolve_against_the_file_folder()
    {
        var home = Environment.GetEnvironmentVariable("HOME")!;
        var testbed = Load("""
            defaults:
              identity_file: ~/.ssh/id_ed25519
              known_hosts: keys/known_hosts
            hosts:
              a:
              b: { identity_file: /etc/ssh/key, known_hosts: ../elsewhere/kh }
            """, "sub/lab.yaml");
        var a = testbed["a"]!.Connection;
        Assert.Equal(Path.Combine(home, ".ssh/id_ed25519"), a.IdentityFile);
        Assert.Equal(_dir.Combine("sub", "keys", "known_hosts"), a.KnownHostsFile);
        var b = testbed["b"]!.Connection;
        Assert.Equal("/etc/ssh/key", b.IdentityFile);
        Assert.Equal(_dir.Combine("elsewhere", "kh"), b.KnownHostsFile);
    }

    [Fact]
    public void State_dir_from_the_file_resolves_against_its_folder_and_is_created()
    {
        var testbed = Load("state_dir: ./state/here\nhosts: { a: }\n");
        Assert.Equal(_dir.Combine("state", "here"), testbed.StateDirectory);
        Assert.True(Directory.Exists(testbed.StateDirectory));
        Assert.Equal(Path.Combine(testbed.StateDirectory, "journal.db"), testbed.JournalPath);
    }

    [Fact]
    public void The_default_state_dir_is_the_same_for_the_same_file_in_every_load()
    {
        var first = Load("name: exp\nhosts: { a: }\n", "one.yaml");
        var again = TestbedLoader.Load(_dir.Combine("one.yaml"), StateRoot);
        var other = Load("name: exp\nhosts: { a: }\n", "two.yaml");

        Assert.Equal(first.StateDirectory, again.StateDirectory);
        Assert.NotEqual(first.StateDirectory, other.StateDirectory);
        Assert.True(Directory.Exists(first.StateDirectory));
        Assert.Equal(StateRoot, Path.GetDirectoryName(first.StateDirectory));
        Assert.Matches("^exp-[0-9a-f]{10}$", Path.GetFileName(first.StateDirectory));
    }

    [Fact]
    public void Parse_reports_errors_against_the_source_name()
    {
        var ex = Assert.Throws<TestbedFormatException>(() => TestbedLoader.Parse("hosts:\n  a: { prot: 1 }\n", "inline.yaml"));
        Assert.Equal("inline.yaml", ex.File);
        Assert.StartsWith("inline.yaml:2:8: key 'hosts.a.prot': unknown key 'prot' (did you mean 'port'?)", ex.Message);
    }

    [Fact]
    public void A_missing_file_is_LocalPathNotFound_naming_the_path()
    {
        var path = _dir.Combine("nope.yaml");
        var ex = Assert.Throws<ProvisioningException>(() => TestbedLoader.Load(path));
        Assert.IsNotType<TestbedFormatException>(ex);
        Assert.Equal(ErrorKind.LocalPathNotFound, ex.Kind);
        Assert.Equal(path, ex.Target);
        Assert.Contains(path, ex.Message);

        var dirEx = Assert.Throws<ProvisioningException>(() => TestbedLoader.Load(_dir.Path));
        Assert.Equal(ErrorKind.LocalPathNotFound, dirEx.Kind);
    }

    [Fact]
    public void A_bad_file_leaves_no_state_folder_behind()
    {
        Fails("state_dir: ./should-not-exist\nhosts:\n  a: { port: 0 }\n");
        Assert.False(Directory.Exists(_dir.Combine("should-not-exist")));
        Assert.False(Directory.Exists(StateRoot));
    }

    // ---- errors, each with its position and key path ----

    [Fact]
    public void Invalid_YAML_names_the_line_and_column() =>
        AssertAt(Fails("hosts:\n  a: x\n  b: \"unterminated\n"), 3, 6, null, "invalid YAML: While scanning a quoted scalar");

    [Fact]
    public void An_unclosed_flow_list_points_at_its_opening() =>
        AssertAt(Fails("hosts:\n  a: [1, 2\n  b: x\n"), 2, 6, null, "invalid YAML: the '[' opened here is never closed");

    [Fact]
    public void An_unquoted_range_in_flow_style_gets_a_hint() =>
        AssertAt(Fails("hosts:\n  n[1-2]: { address: 10.0.0.[1-2] }\n"), 2, 29, null, "a host range must be quoted");

    [Fact]
    public void Quoted_ranges_work_in_flow_style()
    {
        var testbed = Load("hosts:\n  n[1-2]: { address: \"10.0.0.[1-2]\" }\nroles:\n  r: [\"n[1-2]\"]\n");
        Assert.Equal(["10.0.0.1", "10.0.0.2"], testbed.Machines.Select(m => m.Address));
        Assert.Equal(["n1", "n2"], testbed.Roles["r"]);
    }

    [Fact]
    public void Invalid_YAML_bad_indentation() =>
        AssertAt(Fails("hosts:\n  a:\n    port: 1\n   user: x\n"), 4, 4, null, "invalid YAML");

    [Fact]
    public void Unknown_top_level_key_suggests_the_closest() =>
        AssertAt(Fails("name: x\nhostz:\n  a:\n"), 2, 1, "hostz", "unknown key 'hostz' (did you mean 'hosts'?)");

    [Fact]
    public void Unknown_host_key_names_its_path_and_suggests()
    {
        var ex = Fails("hosts:\n  node1:\n    address: 10.0.0.1\n    prot: 22\n");
        AssertAt(ex, 4, 5, "hosts.node1.prot", "unknown key 'prot' (did you mean 'port'?)");
        Assert.Contains("Valid keys here: address, user, port", ex.Problem);
    }

    [Fact]
    public void Unknown_defaults_key() =>
        AssertAt(Fails("defaults:\n  identityfile: x\nhosts: { a: }\n"), 2, 3, "defaults.identityfile", "did you mean 'identity_file'?");

    [Fact]
    public void Unknown_key_with_nothing_close_lists_the_valid_ones()
    {
        var ex = Fails("hosts:\n  a: { colour: blue }\n");
        AssertAt(ex, 2, 8, "hosts.a.colour", "unknown key 'colour'. Valid keys here:");
    }

    [Fact]
    public void Address_is_not_a_defaults_key() =>
        AssertAt(Fails("defaults:\n  address: x\nhosts: { a: }\n"), 2, 3, "defaults.address", "unknown key 'address'");

    [Fact]
    public void Merge_keys_are_refused_with_a_pointer_to_defaults() =>
        AssertAt(Fails("defaults: &d { port: 22 }\nhosts:\n  a:\n    <<: *d\n"), 4, 5, "hosts.a.<<", "merge keys ('<<') are not supported; put shared settings under 'defaults:'");

    [Fact]
    public void Duplicate_host_names_point_at_the_second() =>
        AssertAt(Fails("hosts:\n  node1:\n  node2:\n  node1:\n"), 4, 3, "hosts.node1", "host 'node1' is defined twice; it is first defined at line 2, column 3");

    [Fact]
    public void Duplicate_hosts_ignore_case() =>
        AssertAt(Fails("hosts:\n  Node1:\n  node1:\n"), 3, 3, "hosts.node1", "defined twice");

    [Fact]
    public void Duplicates_created_by_range_expansion_are_reported() =>
        AssertAt(Fails("hosts:\n  node2:\n  node[1-3]:\n"), 3, 3, "hosts.node[1-3]", "host 'node2' (from the range 'node[1-3]') is defined twice; it is first defined at line 2");

    [Fact]
    public void Duplicates_inside_one_range_are_reported() =>
        AssertAt(Fails("hosts:\n  n[1,2,1]:\n"), 2, 3, "hosts.n[1,2,1]", "host 'n1'");

    [Fact]
    public void Duplicate_YAML_keys_are_reported() =>
        AssertAt(Fails("name: a\nhosts: { x: }\nname: b\n"), 3, 1, "name", "duplicate key 'name'; it is first set at line 1, column 1");

    [Fact]
    public void Duplicate_variable_names_are_reported() =>
        AssertAt(Fails("hosts:\n  a:\n    vars:\n      x: 1\n      X: 2\n"), 5, 7, "hosts.a.vars.X", "duplicate variable 'X' (first set at line 4, column 7");

    [Fact]
    public void Duplicate_roles_are_reported() =>
        AssertAt(Fails("hosts: { a: }\nroles:\n  web: a\n  Web: a\n"), 4, 3, "roles.Web", "role 'Web' is defined twice");

    [Fact]
    public void A_role_naming_an_unknown_host_points_at_the_entry()
    {
        var ex = Fails("hosts:\n  web1:\n  web2:\nroles:\n  web: [web1, wbe2]\n");
        AssertAt(ex, 5, 15, "roles.web", "role 'web' names the unknown host 'wbe2' (did you mean 'web2'?)");
    }

    [Fact]
    public void A_role_range_reaching_an_unknown_host_is_reported() =>
        AssertAt(Fails("hosts:\n  n[1-2]:\nroles:\n  all_nodes: n[1-3]\n"), 4, 14, "roles.all_nodes", "unknown host 'n3'");

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("70000")]
    [InlineData("-1")]
    [InlineData("22.5")]
    [InlineData("ssh")]
    [InlineData("0x16")]
    public void Ports_must_be_integers_from_1_to_65535(string port) =>
        AssertAt(Fails($"hosts:\n  a:\n    port: {port}\n"), 3, 11, "hosts.a.port", $"a port is a whole number from 1 to 65535, not '{port}'");

    [Fact]
    public void A_quoted_port_number_is_accepted() =>
        Assert.Equal(2222, Load("hosts:\n  a: { port: \"2222\" }\n").Machines[0].Port);

    [Fact]
    public void A_port_in_defaults_is_checked_too() =>
        AssertAt(Fails("defaults: { port: 99999 }\nhosts: { a: }\n"), 1, 19, "defaults.port", "not '99999'");

    [Fact]
    public void A_port_given_as_a_list_is_a_type_error() =>
        AssertAt(Fails("hosts:\n  a:\n    port: [22]\n"), 3, 11, "hosts.a.port", "expected a single value, found a list");

    [Theory]
    [InlineData("node[5-1]", "goes down")]
    [InlineData("node[a-b]", "neither a number nor a range")]
    [InlineData("node[1-3", "not closed")]
    public void Bad_host_ranges_point_at_the_key(string key, string because) =>
        AssertAt(Fails($"hosts:\n  web:\n  \"{key}\":\n"), 3, 3, $"hosts.{key}", because);

    [Fact]
    public void A_bad_address_range_points_at_the_address() =>
        AssertAt(Fails("hosts:\n  n[1-2]:\n    address: 10.0.0.[2-1]\n"), 3, 14, "hosts.n[1-2].address", "goes down");

    [Fact]
    public void A_single_address_for_a_range_of_hosts_is_refused() =>
        AssertAt(Fails("hosts:\n  n[1-3]: { address: 10.0.0.1 }\n"), 2, 22, "hosts.n[1-3].address", "names 3 hosts but the address '10.0.0.1' is a single one");

    [Fact]
    public void An_address_range_of_another_length_is_refused() =>
        AssertAt(Fails("hosts:\n  n[1-3]: { address: \"10.0.0.[1-2]\" }\n"), 2, 22, "hosts.n[1-3].address", "gives 2 addresses");

    [Fact]
    public void A_single_host_address_with_brackets_is_taken_literally() =>
        Assert.Equal("[fe80::1]", Load("hosts:\n  a: { address: \"[fe80::1]\" }\n").Machines[0].Address);

    [Fact]
    public void Hosts_as_a_list_is_a_type_error() =>
        AssertAt(Fails("hosts:\n  - a\n  - b\n"), 2, 3, "hosts", "expected a mapping of host names, found a list");

    [Fact]
    public void A_host_given_a_list_is_a_type_error() =>
        AssertAt(Fails("hosts:\n  a:\n    - port: 22\n"), 3, 5, "hosts.a", "expected a mapping of host settings");

    [Fact]
    public void A_host_given_a_bare_value_is_a_type_error() =>
        AssertAt(Fails("hosts:\n  a: 10.0.0.1\n"), 2, 6, "hosts.a", "found the value '10.0.0.1'");

    [Fact]
    public void Defaults_given_a_value_is_a_type_error() =>
        AssertAt(Fails("defaults: root\nhosts: { a: }\n"), 1, 11, "defaults", "expected a mapping of connection settings");

    [Fact]
    public void Vars_given_a_list_is_a_type_error() =>
        AssertAt(Fails("hosts:\n  a:\n    vars: [x, y]\n"), 3, 11, "hosts.a.vars", "expected a mapping of variables, found a list");

    [Fact]
    public void Roles_given_a_list_is_a_type_error() =>
        AssertAt(Fails("hosts: { a: }\nroles:\n  - web\n"), 3, 3, "roles", "expected a mapping of role names");

    [Fact]
    public void A_role_given_a_mapping_is_a_type_error() =>
        AssertAt(Fails("hosts: { a: }\nroles:\n  web: { a: 1 }\n"), 3, 8, "roles.web", "not a mapping");

    [Fact]
    public void A_user_given_a_mapping_is_a_type_error() =>
        AssertAt(Fails("hosts:\n  a: { user: { name: x } }\n"), 2, 14, "hosts.a.user", "expected a single value, found a mapping");

    [Fact]
    public void Kex_fast_is_an_opt_in_per_testbed_or_host_and_reaches_ssh_as_curve25519_only()
    {
        var testbed = Load("defaults: { kex: fast }\nhosts:\n  a: { address: 10.0.0.1 }\n  b: { address: 10.0.0.2, kex: default }\n  c: { address: 10.0.0.3, proxy_jump: gw.example.org }\n");
        Assert.True(testbed["a"]!.Connection.FastKeyExchange);
        Assert.False(testbed["b"]!.Connection.FastKeyExchange);
        using var dir = new TempDirectory();
        var transport = new Transport.OpenSshTransport(new Transport.OpenSshOptions { ControlDirectory = Path.Combine(dir.Path, "cm") });
        Assert.Contains("KexAlgorithms=curve25519-sha256", transport.BaseArguments(testbed["a"]!, master: true));
        Assert.DoesNotContain(transport.BaseArguments(testbed["b"]!, master: true), a => a.StartsWith("KexAlgorithms", StringComparison.Ordinal));
        // A jump host outside the testbed goes with the target's choice too.
        Assert.True(Transport.OpenSshTransport.JumpHop(testbed["c"]!)!.Connection.FastKeyExchange);
    }

    [Fact]
    public void Transport_is_chosen_in_defaults_or_per_host_and_an_override_wins()
    {
        var yaml = "defaults: { transport: openssh }\nhosts:\n  a: { address: 10.0.0.1 }\n  b: { address: 10.0.0.2, transport: sshnet }\n  c: { address: 10.0.0.3, transport: auto }\n";
        var testbed = Load(yaml);
        Assert.Equal(Transport.TransportKind.OpenSsh, testbed["a"]!.Connection.Transport);
        Assert.Equal(Transport.TransportKind.SshNet, testbed["b"]!.Connection.Transport);
        Assert.Equal(Transport.TransportKind.Auto, testbed["c"]!.Connection.Transport);
        Assert.Equal("OpenSsh", testbed["a"]!.Transport);
        Assert.Equal("transport: openssh", testbed["a"]!.TransportReason);
        using var dir = new TempDirectory();
        var forced = TestbedLoader.Load(dir.Write("t.yaml", yaml), stateRoot: dir.Combine("state"), Transport.TransportKind.OpenSsh);
        Assert.All(forced.Machines, m => Assert.Equal("OpenSsh", m.Transport));
    }

    [Fact]
    public void Transport_takes_auto_sshnet_or_openssh_only() =>
        AssertAt(Fails("defaults:\n  transport: telnet\nhosts: { a: }\n"), 2, 14, "defaults.transport", "transport is 'auto', 'sshnet' or 'openssh'");

    [Fact]
    public void Kex_takes_default_or_fast_only() =>
        AssertAt(Fails("defaults:\n  kex: quantum\nhosts: { a: }\n"), 2, 8, "defaults.kex", "kex is 'default' or 'fast'");

    [Fact]
    public void Trust_new_host_keys_takes_true_or_false_only() =>
        AssertAt(Fails("defaults:\n  trust_new_host_keys: yes\nhosts: { a: }\n"), 2, 24, "defaults.trust_new_host_keys", "expected true or false, not 'yes'");

    [Fact]
    public void A_bad_tag_on_a_variable_is_reported() =>
        AssertAt(Fails("hosts:\n  a: { vars: { n: !!int ten } }\n"), 2, 19, "hosts.a.vars.n", "is tagged !!int but is not an integer");

    [Fact]
    public void An_empty_file_is_reported() =>
        AssertAt(Fails("# nothing here\n"), 1, 1, null, "the file is empty");

    [Fact]
    public void A_file_without_hosts_is_reported() =>
        AssertAt(Fails("name: x\n"), 1, 1, "hosts", "no 'hosts:' mapping");

    [Fact]
    public void Empty_hosts_are_reported() =>
        AssertAt(Fails("name: x\nhosts:\n"), 2, 7, "hosts", "'hosts:' is empty");

    [Fact]
    public void A_top_level_list_is_reported() =>
        AssertAt(Fails("- a\n- b\n"), 1, 1, null, "must be a mapping");

    [Fact]
    public void Two_documents_are_reported() =>
        AssertAt(Fails("hosts: { a: }\n---\nhosts: { b: }\n"), 2, 1, null, "more than one YAML document");

    [Fact]
    public void An_alias_to_nothing_is_reported() =>
        AssertAt(Fails("hosts:\n  a: *nowhere\n"), 2, 6, null, "invalid YAML");

    [Theory]
    [InlineData("a:b")]
    [InlineData("a,b")]
    [InlineData("web*")]
    [InlineData("!a")]
    [InlineData("a b")]
    public void Host_names_cannot_hold_pattern_characters(string name) =>
        AssertAt(Fails($"hosts:\n  \"{name}\":\n"), 2, 3, $"hosts.{name}", "which host patterns give a meaning to");

    [Fact]
    public void All_is_reserved() =>
        AssertAt(Fails("hosts: { a: }\nroles:\n  all: a\n"), 3, 3, "roles.all", "'all' cannot be a role name");

    [Fact]
    public void The_error_message_carries_file_line_column_and_key()
    {
        var ex = Fails("hosts:\n  a: { port: 0 }\n");
        Assert.Equal($"{_dir.Combine("bad.yaml")}:2:14: key 'hosts.a.port': a port is a whole number from 1 to 65535, not '0'.", ex.Message);
    }
}
