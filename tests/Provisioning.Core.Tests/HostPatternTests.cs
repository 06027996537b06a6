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
        Assert.Equal(["a1"], Select("rack1[:1]"));
        Assert.Empty(Select("rack1[5]"));
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
