using System.Diagnostics;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Tests;

/// <summary>
/// The in-process transport's known_hosts reader, on lines written and hashed by OpenSSH's own ssh-keygen, and
/// cross-checked against <c>ssh-keygen -F</c> where it can say.
/// </summary>
public sealed class KnownHostsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly (string Type, byte[] Blob, string Line) _key;
    private readonly (string Type, byte[] Blob, string Line) _other;

    public KnownHostsTests()
    {
        _key = NewKey("a");
        _other = NewKey("b");
    }

    public void Dispose() => _dir.Dispose();

    private (string, byte[], string) NewKey(string name)
    {
        var path = _dir.Combine(name);
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path);
        var fields = File.ReadAllText(path + ".pub").Trim().Split(' ');
        return (fields[0], Convert.FromBase64String(fields[1]), $"{fields[0]} {fields[1]}");
    }

    private static string Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    private KnownHosts Read(string text) => KnownHosts.Read([_dir.Write("known_hosts", text)]);

    [Fact]
    public void A_plain_entry_is_known_and_another_key_of_the_same_type_is_a_change()
    {
        var known = Read($"db1,10.0.0.5 {_key.Line}\n");
        Assert.Equal(HostKeyVerdict.Known, known.Check("db1", _key.Blob));
        Assert.Equal(HostKeyVerdict.Known, known.Check("10.0.0.5", _key.Blob));
        Assert.Equal(HostKeyVerdict.Changed, known.Check("db1", _other.Blob));
        Assert.Equal(HostKeyVerdict.Unknown, known.Check("db2", _key.Blob));
        Assert.Contains(known.LinesFor("db1", _other.Blob), l => l.EndsWith(":1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_port_other_than_22_is_looked_up_in_brackets_and_port_22_without()
    {
        Assert.Equal("[db1]:2222", KnownHosts.LookupName("DB1", 2222));
        Assert.Equal("db1", KnownHosts.LookupName("db1", 22));
        var known = Read($"[db1]:2222 {_key.Line}\n");
        Assert.Equal(HostKeyVerdict.Known, known.Check("[db1]:2222", _key.Blob));
        Assert.Equal(HostKeyVerdict.Unknown, known.Check("db1", _key.Blob));
        Assert.Equal(HostKeyVerdict.Unknown, known.Check("[db1]:2223", _key.Blob));
    }

    [Fact]
    public void Entries_hashed_by_ssh_keygen_are_found_as_ssh_keygen_finds_them()
    {
        var file = _dir.Write("known_hosts", $"db1 {_key.Line}\n[db2]:2222 {_other.Line}\n");
        Run("ssh-keygen", "-q", "-H", "-f", file);
        var text = File.ReadAllText(file);
        Assert.DoesNotContain("db1", text, StringComparison.Ordinal);
        Assert.StartsWith("|1|", text, StringComparison.Ordinal);
        var known = KnownHosts.Read([file]);
        Assert.Equal(HostKeyVerdict.Known, known.Check("db1", _key.Blob));
        Assert.Equal(HostKeyVerdict.Known, known.Check("[db2]:2222", _other.Blob));
        Assert.Equal(HostKeyVerdict.Changed, known.Check("db1", _other.Blob));
        Assert.Equal(HostKeyVerdict.Unknown, known.Check("db3", _key.Blob));
        // OpenSSH's own lookup agrees on which names are in the file.
        Assert.NotEmpty(Run("ssh-keygen", "-F", "db1", "-f", file).Trim());
        Assert.Empty(Run("ssh-keygen", "-F", "db3", "-f", file).Trim());
    }

    [Fact]
    public void Wildcards_and_negation_follow_openssh_pattern_lists()
    {
        var known = Read($"*.lab,!bad.lab,node?? {_key.Line}\n");
        Assert.Equal(HostKeyVerdict.Known, known.Check("a.lab", _key.Blob));
        Assert.Equal(HostKeyVerdict.Unknown, known.Check("bad.lab", _key.Blob));
        Assert.Equal(HostKeyVerdict.Known, known.Check("node07", _key.Blob));
        Assert.Equal(HostKeyVerdict.Unknown, known.Check("node7", _key.Blob));
    }

    [Fact]
    public void A_revoked_key_is_refused_even_where_a_line_names_it()
    {
        var known = Read($"db1 {_key.Line}\n@revoked * {_key.Line}\n");
        Assert.Equal(HostKeyVerdict.Revoked, known.Check("db1", _key.Blob));
    }

    [Fact]
    public void A_cert_authority_line_for_the_host_is_reported_so_the_host_goes_to_openssh()
    {
        var known = Read($"@cert-authority *.lab {_other.Line}\n");
        Assert.True(known.HasCertificateAuthorityFor("db.lab"));
        Assert.False(known.HasCertificateAuthorityFor("db.other"));
        Assert.Equal(HostKeyVerdict.NeedsCertificateAuthority, known.Check("db.lab", _key.Blob));
    }

    [Fact]
    public void Accept_new_appends_a_line_that_ssh_keygen_then_finds()
    {
        var file = _dir.Write("known_hosts", "# comment without a newline");
        KnownHosts.Append(file, "[10.0.0.9]:2200", _key.Blob);
        Assert.Equal(HostKeyVerdict.Known, KnownHosts.Read([file]).Check("[10.0.0.9]:2200", _key.Blob));
        Assert.NotEmpty(Run("ssh-keygen", "-F", "[10.0.0.9]:2200", "-f", file).Trim());
        Assert.Equal(2, File.ReadAllLines(file).Length);
    }

    [Fact]
    public void Comments_blank_and_broken_lines_are_skipped_and_key_types_are_listed()
    {
        var known = Read($"# a comment\n\nnot-a-line\ndb1 ssh-ed25519 !!!notbase64\ndb1 {_key.Line} comment here\n");
        Assert.Equal(HostKeyVerdict.Known, known.Check("db1", _key.Blob));
        Assert.Equal(["ssh-ed25519"], known.KeyTypesFor("db1"));
        Assert.Equal("ssh-ed25519", KnownHosts.KeyTypeOf(_key.Blob));
    }
}
