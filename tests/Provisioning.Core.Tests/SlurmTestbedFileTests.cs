using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

/// <summary>The <c>provider: slurm</c> section of testbed files: every mistake names the line and the key.</summary>
public sealed class SlurmTestbedFileTests
{
    private static TestbedFormatException Invalid(string yaml) =>
        Assert.Throws<TestbedFormatException>(() => TestbedLoader.Parse(yaml, "cluster.yaml"));

    [Fact]
    public void A_slurm_testbed_has_no_hosts_of_its_own()
    {
        var ex = Invalid("provider: slurm\nslurm: { nodes: 2 }\nhosts:\n  a: {}\n");
        Assert.StartsWith("cluster.yaml:3:1: key 'hosts':", ex.Message);
        Assert.Contains("gets its hosts from the allocation", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("provider: slurm\n", "'provider: slurm' needs a 'slurm:' mapping")]
    [InlineData("provider: slurm\nslurm:\n  partition: main\n", "give either 'nodes:'")]
    [InlineData("provider: slurm\nslurm:\n  nodes: 2\n  job_id: 7\n", "give either 'nodes:'")]
    [InlineData("provider: slurm\nslurm:\n  nodes: two\n", "cluster.yaml:3:10: key 'slurm.nodes': nodes is a whole number")]
    [InlineData("provider: slurm\nslurm:\n  nodes: 0\n", "key 'slurm.nodes': nodes is a whole number")]
    [InlineData("provider: slurm\nslurm:\n  job_id: abc\n", "key 'slurm.job_id': job_id is a Slurm job id")]
    [InlineData("provider: slurm\nslurm:\n  nodez: 2\n", "unknown key 'nodez' (did you mean 'nodes'?)")]
    [InlineData("provider: slurm\nslurm: { nodes: 2 }\nroles:\n  server: many\n", "key 'roles.server': with 'provider: slurm', a role gives how many nodes")]
    [InlineData("provider: slurm\nslurm: { nodes: 2 }\nroles:\n  server: [n1]\n", "cluster.yaml:4:11: key 'roles.server'")]
    [InlineData("provider: slurm\nslurm: { nodes: 2 }\nroles:\n  server: 2\n  client: 1\n", "the roles ask for 3 nodes but 'slurm.nodes' is 2")]
    [InlineData("provider: slurm\nslurm: { nodes: 2 }\ndefaults:\n  user: root\n", "unknown key 'user'")]
    [InlineData("provider: oar\nhosts: { a: }\n", "provider is 'static'")]
    [InlineData("slurm: { nodes: 2 }\nhosts: { a: }\n", "only a testbed with 'provider: slurm' has")]
    public void Mistakes_in_the_slurm_section_name_the_line_and_key(string yaml, string expected)
    {
        var ex = Invalid(yaml);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("cluster.yaml:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_static_provider_is_the_default_and_may_be_written()
    {
        var testbed = TestbedLoader.Parse("provider: static\nhosts: { a: }\n", Path.Combine(Path.GetTempPath(), "static-" + Guid.NewGuid().ToString("N")[..6] + ".yaml"));
        Assert.Equal("Static", testbed.Provider);
        Assert.Single(testbed.Machines);
        Directory.Delete(testbed.StateDirectory, recursive: true);
    }
}
