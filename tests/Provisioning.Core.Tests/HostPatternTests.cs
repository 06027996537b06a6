using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

public sealed class HostPatternTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Testbed _testbed;

    public HostPatternTests()
    {
        // Testbed order: a1 a2 a3 a4 web1 web2 db1. The 'servers' role lists db1 before web1 on purpose.
        _testbed = TestbedLoader.Parse("""
            state_dir: ./state
            hosts:
              a[1-4]:
              web[1-2]:
              db1:
            roles:
              rack1: a[1-2]
              rack2: a[3-4]
              web: web[1-2]
              db: db1
              servers: [db1, web1]
            """, _dir.Combine("patterns.yaml"));
    }

    public void Dispose() => _dir.Dispose();

    private string[] Select(string pattern) => HostPattern.Select(_testbed, pattern).Select(m => m.Name).ToArray();

    [Theory]
    [InlineData("all")]
    [InlineData("ALL")]
    [InlineData("*")]
    public void All_and_star_select_every_host(string pattern) =>
        Assert.Equal(["a1", "a2", "a3", "a4", "web1", "web2", "db1"], Select(pattern));

    [Fact]
    public void A_role_selects_its_hosts_and_a_host_itself()
    {
        Assert.Equal(["a1", "a2"], Select("rack1"));
        Assert.Equal(["web2"], Select("web2"));
    }

    [Fact]
    public void Names_ignore_case()
    {
        Assert.Equal(["a3", "a4"], Select("RACK2"));
        Assert.Equal(["web1"], Select("Web1"));
    }

    [Theory]
    [InlineData("rack1:db")]
    [InlineData("db:rack1")]
    [InlineData("rack1,db")]
    [InlineData(" rack1 : db ")]
    public void Colon_and_comma_unite_in_testbed_order(string pattern) =>
        Assert.Equal(["a1", "a2", "db1"], Select(pattern));

    [Fact]
    public void Ampersand_intersects() =>
        Assert.Equal(["web1"], Select("web:&servers"));

    [Fact]
    public void Bang_excludes() =>
        Assert.Equal(["a1", "a3", "a4"], Select("rack1:rack2:!a2"));

    [Fact]
    public void Unions_come_first_then_intersections_then_exclusions_whatever_the_order()
    {
        // Ansible: "!a2:rack1:&rack1" is rack1, intersected with rack1, minus a2.
        Assert.Equal(["a1"], Select("!a2:rack1:&rack1"));
        Assert.Equal(["a1"], Select("rack1:&rack1:!a2"));
        Assert.Equal(["web1"], Select("&servers:!db:web"));
    }

    [Fact]
    public void A_pattern_of_only_exclusions_or_intersections_starts_from_all()
    {
        Assert.Equal(["a1", "a2", "a3", "a4", "web1", "web2"], Select("!db1"));
        Assert.Equal(["web1", "db1"], Select("&servers"));
    }

    [Fact]
    public void Wildcards_match_host_names()
    {
        Assert.Equal(["web1", "web2"], Select("web*"));
        Assert.Equal(["a1", "a2", "a3", "a4"], Select("a?"));
        Assert.Equal(["a1", "a2", "a3", "a4", "web1", "db1"], Select("*1:a*"));
    }

    [Fact]
    public void Wildcards_match_role_names_too() =>
        Assert.Equal(["a1", "a2", "a3", "a4"], Select("RACK*"));

    [Fact]
    public void Ranges_select_hosts_and_commas_inside_brackets_are_not_separators()
    {
        Assert.Equal(["a2", "a3"], Select("a[2-3]"));
        Assert.Equal(["a1", "a3", "web2"], Select("a[1,3]:web2"));
        Assert.Equal(["a1", "a2"], Select("a[1-9]:!a[3-9]"));
    }

    [Fact]
    public void Subscripts_on_a_role_follow_the_role_order_as_in_Ansible()
    {
        Assert.Equal(["db1"], Select("servers[0]"));
        Assert.Equal(["web1"], Select("servers[-1]"));
        Assert.Equal(["a3", "a4"], Select("rack2[0:]"));
        Assert.Equal(["a1", "a2"], Select("rack1[:1]"));
        Assert.Empty(Select("rack1[5]"));
    }

    /// <summary>
    /// Patterns with what Ansible selects for the same inventory (<see cref="AnsibleInventory"/>), in its order.
    /// Slices include their end, as Ansible's do.
    /// </summary>
    public static TheoryData<string, string[]> AnsibleTable => new()
    {
        { "all", ["a1", "a2", "a3", "a4", "web1", "web2", "db1"] },
        { "rack1:web", ["a1", "a2", "web1", "web2"] },
        { "rack1,db", ["a1", "a2", "db1"] },
        { "servers:&web", ["web1"] },
        { "rack1:rack2:&servers", [] },
        { "all:!rack2", ["a1", "a2", "web1", "web2", "db1"] },
        { "rack*:!rack2", ["a1", "a2"] },
        { "web*", ["web1", "web2"] },
        { "web*:&servers", ["web1"] },
        { "~(a[12]|web)", ["a1", "a2", "web1", "web2"] },
        { "~a[3-4]:db1", ["a3", "a4", "db1"] },
        { "servers[0]", ["db1"] },
        { "servers[-1]", ["web1"] },
        { "all[-1]", ["db1"] },
        { "rack2[0:]", ["a3", "a4"] },
        { "all[1:2]", ["a2", "a3"] },
        { "all[0:2]", ["a1", "a2", "a3"] },
        { "all[5:]", ["web2", "db1"] },
        { "web[0:1]", ["web1", "web2"] },
        { "all[1:3]:!a3", ["a2", "a4"] },
        { "rack1:rack2:&all[1:3]", ["a2", "a3", "a4"] },
        { "db1:web2", ["web2", "db1"] },
    };

    [Theory]
    [MemberData(nameof(AnsibleTable))]
    public void Patterns_select_what_Ansible_selects(string pattern, string[] expected) => Assert.Equal(expected, Select(pattern));

    [SkippableFact]
    public void The_table_agrees_with_ansible_list_hosts_itself()
    {
        var ansible = new[] { "/usr/bin/ansible", "/usr/local/bin/ansible" }.FirstOrDefault(File.Exists);
        Skip.If(ansible is null, "ansible-core is not installed (apt-get install ansible-core); the table above holds its answers.");
        var inventory = _dir.Combine("inventory.ini");
        File.WriteAllText(inventory, AnsibleInventory);
        foreach (var row in AnsibleTable)
        {
            var (pattern, expected) = ((string)row[0], (string[])row[1]);
            Assert.Equal(expected.Order(StringComparer.Ordinal), ListHosts(ansible!, inventory, pattern).Order(StringComparer.Ordinal));
        }
    }

    // The testbed of this class as an Ansible INI inventory: same hosts, same groups, same order.
    private const string AnsibleInventory = """
        [rack1]
        a1
        a2
        [rack2]
        a3
        a4
        [web]
        web1
        web2
        [db]
        db1
        [servers]
        db1
        web1
        """;

    private static string[] ListHosts(string ansible, string inventory, string pattern)
    {
        var start = new System.Diagnostics.ProcessStartInfo(ansible) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-i", inventory, "--list-hosts", pattern }) start.ArgumentList.Add(a);
        start.Environment["ANSIBLE_LOCALHOST_WARNING"] = "False";
        start.Environment["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False";
        start.Environment["ANSIBLE_NOCOLOR"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        _ = process.StandardError.ReadToEnd();
        process.WaitForExit();
        // "  hosts (2):\n    a1\n    a2" (or "hosts (0):" and a warning when nothing matches).
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("hosts (", StringComparison.Ordinal) && !l.StartsWith("[WARNING]", StringComparison.Ordinal))
            .ToArray();
    }

    [Fact]
    public void Regular_expressions_after_a_tilde_match_from_the_start() =>
        Assert.Equal(["a1", "a2", "web1", "web2"], Select("~(a[12]|web)"));

    [Fact]
    public void Results_have_no_repeats() =>
        Assert.Equal(["web1", "web2", "db1"], Select("web1:web:web*:servers"));

    [Fact]
    public void An_unknown_name_matches_nothing()
    {
        Assert.Empty(Select("nosuchhost"));
        Assert.Equal(["db1"], Select("nosuchhost:db1"));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("a1::a2", "term 2 is empty")]
    [InlineData("a1:", "term 2 is empty")]
    [InlineData(",a1", "term 1 is empty")]
    [InlineData("&", "'&' in term 1 must be followed")]
    [InlineData("a1:!", "'!' in term 2 must be followed")]
    [InlineData("!!a1", "more than one operator")]
    [InlineData("a[2-1]", "goes down")]
    [InlineData("a[1-", "not closed")]
    [InlineData("~(", "not a valid regular expression")]
    public void Malformed_patterns_are_PatternInvalid(string pattern, string because)
    {
        var ex = Assert.Throws<ProvisioningException>(() => HostPattern.Select(_testbed, pattern));
        Assert.Equal(ErrorKind.PatternInvalid, ex.Kind);
        Assert.Equal(pattern, ex.Target);
        Assert.Contains($"'{pattern}'", ex.Message);
        Assert.Contains(because, ex.Message);
    }
}
