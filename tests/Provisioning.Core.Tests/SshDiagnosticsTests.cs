using Provisioning.Core.Errors;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Tests;

/// <summary>How ssh's diagnostics become an error kind and a message, and how a ProxyJump entry is read.</summary>
public sealed class SshDiagnosticsTests
{
    [Fact]
    public void The_cause_comes_first_and_the_lines_about_the_closed_connection_are_left_out()
    {
        const string stderr = "Host key verification failed.\r\nkex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\n";
        Assert.Equal(ErrorKind.HostKeyVerificationFailed, SshFailureClassifier.Classify(stderr));
        Assert.Equal("Host key verification failed.", SshFailureClassifier.Explain(stderr));
    }

    [Fact]
    public void A_changed_key_banner_is_reduced_to_its_verdict()
    {
        const string stderr = """
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
            @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
            IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
            Host key for [10.0.0.1]:22 has changed and you have requested strict checking.
            Host key verification failed.
            """;
        Assert.Equal(ErrorKind.HostKeyVerificationFailed, SshFailureClassifier.Classify(stderr));
        var message = SshFailureClassifier.Explain(stderr);
        Assert.StartsWith("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!", message, StringComparison.Ordinal);
        Assert.EndsWith("Host key verification failed.", message, StringComparison.Ordinal);
        Assert.DoesNotContain("NASTY", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_known_cause_the_last_lines_are_kept()
    {
        Assert.Equal("something odd", SshFailureClassifier.Explain("Connection closed by 10.0.0.1 port 22\nsomething odd\n"));
        Assert.Equal("Connection closed by 10.0.0.1 port 22", SshFailureClassifier.Explain("Connection closed by 10.0.0.1 port 22\n"));
        Assert.Equal("ssh exited with code 255 and said nothing.", SshFailureClassifier.Explain(""));
        Assert.Equal(ErrorKind.HostUnreachable, SshFailureClassifier.Classify("ssh: connect to host 10.0.0.1 port 22: Connection refused"));
    }

    [Theory]
    [InlineData("gw", null, "gw", null)]
    [InlineData("root@10.1.2.3", "root", "10.1.2.3", null)]
    [InlineData("root@10.1.2.3:2222", "root", "10.1.2.3", 2222)]
    [InlineData("ssh://me@gw.example.org:22", "me", "gw.example.org", 22)]
    [InlineData("[fe80::1]:2200", null, "fe80::1", 2200)]
    [InlineData("fe80::1", null, "fe80::1", null)]
    [InlineData("a@b@gw", "a@b", "gw", null)]
    public void A_jump_entry_is_read_as_ssh_reads_it(string entry, string? user, string host, int? port) =>
        Assert.Equal((user, host, port), OpenSshTransport.ParseJump(entry));
}
