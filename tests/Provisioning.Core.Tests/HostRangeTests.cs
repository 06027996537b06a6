using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

public class HostRangeTests
{
    [Fact]
    public void A_name_without_brackets_is_returned_as_is() =>
        Assert.Equal(["server"], HostRange.Expand("server"));

    [Fact]
    public void Expands_a_simple_range_without_padding() =>
        Assert.Equal(["node8", "node9", "node10", "node11"], HostRange.Expand("node[8-11]"));

    [Fact]
    public void Leading_zeros_on_the_low_bound_set_the_width()
    {
        var names = HostRange.Expand("node[01-20]");
        Assert.Equal(20, names.Count);
        Assert.Equal("node01", names[0]);
        Assert.Equal("node09", names[8]);
        Assert.Equal("node20", names[19]);
        Assert.Equal(["n007"], HostRange.Expand("n[007]"));
    }

    [Fact]
    public void Comma_lists_mix_numbers_and_ranges_in_order() =>
        Assert.Equal(["n1", "n3", "n5", "n6", "n7"], HostRange.Expand("n[1,3,5-7]"));

    [Fact]
    public void Several_brackets_give_every_combination_first_bracket_slowest() =>
        Assert.Equal(["rack1-n1", "rack1-n2", "rack1-n3", "rack2-n1", "rack2-n2", "rack2-n3"], HostRange.Expand("rack[1-2]-n[1-3]"));

    [Fact]
    public void Text_after_the_last_bracket_is_kept() =>
        Assert.Equal(["10.0.0.1.lab", "10.0.0.2.lab"], HostRange.Expand("10.0.0.[1-2].lab"));

    [Fact]
    public void Repeats_are_kept_so_callers_can_report_them() =>
        Assert.Equal(["n1", "n1"], HostRange.Expand("n[1,1]"));

    [Theory]
    [InlineData("node[5-1]", "goes down")]
    [InlineData("node[a-b]", "neither a number nor a range")]
    [InlineData("node[1-3", "not closed")]
    [InlineData("node1-3]", "without a matching '['")]
    [InlineData("node[]", "empty brackets")]
    [InlineData("node[1-]", "neither a number nor a range")]
    [InlineData("node[-1]", "neither a number nor a range")]
    [InlineData("node[1-2[3]]", "not closed")]
    [InlineData("node[1-1000000]", "more than 100000")]
    [InlineData("a[1-1000]b[1-1000]", "more than 100000")]
    public void Bad_ranges_throw_a_FormatException_that_says_why(string expression, string because)
    {
        var ex = Assert.Throws<FormatException>(() => HostRange.Expand(expression));
        Assert.Contains(because, ex.Message);
        Assert.Contains(expression, ex.Message);
    }
}
