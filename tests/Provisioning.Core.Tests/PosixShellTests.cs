using Provisioning.Core.Transport;
using System.Diagnostics;
using Provisioning.Core.Templating;

namespace Provisioning.Core.Tests;

public class PosixShellTests
{
    [Fact]
    public void Embedded_single_quotes_close_escape_and_reopen() =>
        Assert.Equal(@"'it'\''s'", PosixShell.Quote("it's"));

    [Fact]
    public void Empty_is_an_empty_word() => Assert.Equal("''", PosixShell.Quote(""));

    [Theory]
    [InlineData("it's")]
    [InlineData("$HOME and $(id) and `id`")]
    [InlineData("a b\tc\nd")]
    [InlineData("\"double\" \\backslash\\ 'single' ''")]
    [InlineData("*; rm -rf nothing-here; echo")]
    [InlineData("")]
    [InlineData("-n")]
    public void A_real_sh_receives_exactly_the_value_as_one_argument(string value)
    {
        // printf '[%s]' prints each argument in brackets: one pair means one word, and the text must be untouched.
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("printf '[%s]' " + PosixShell.Quote(value));
        using var sh = Process.Start(start)!;
        var output = sh.StandardOutput.ReadToEnd();
        sh.WaitForExit();
        Assert.Equal(0, sh.ExitCode);
        Assert.Equal($"[{value}]", output);
    }
}
