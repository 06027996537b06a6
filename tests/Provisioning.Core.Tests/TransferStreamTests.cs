using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Transfer;

namespace Provisioning.Core.Tests;

/// <summary>
/// The controller's side of the transfer wire formats, fed with crafted streams: what a broken or misbehaving
/// host could send. (The real round trips are covered against sshd in the integration tests.)
/// </summary>
public sealed class TransferStreamTests
{
    private static string Sha(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    /// <summary>A fetch stream: header, manifest of (name, claimed hash), then a tar of (entry name, content).</summary>
    private static MemoryStream FetchStream(IEnumerable<(string Name, string Sha)> manifest, IEnumerable<(string Name, string Content)> entries, bool cutLastEntry = false)
    {
        var list = Encoding.UTF8.GetBytes(string.Concat(manifest.Select(m => $"{m.Sha}  {m.Name}\0")));
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Gnu, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
                writer.WriteEntry(new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
        }
        var tarBytes = tar.ToArray();
        // Cut inside the last entry's data: its header and 1000 bytes of it arrive (earlier entries are 1024 bytes each here).
        if (cutLastEntry) tarBytes = tarBytes[..((entries.Count() - 1) * 1024 + 512 + 1000)];
        var stream = new MemoryStream();
        stream.Write(Encoding.ASCII.GetBytes($"{TransferScripts.FetchHeader} {list.Length}\n"));
        stream.Write(list);
        stream.Write(tarBytes);
        stream.Position = 0;
        return stream;
    }

    [Fact]
    public async Task Verified_files_land_in_the_host_folder_and_nothing_temporary_remains()
    {
        using var dir = new TempDirectory();
        var host = dir.Combine("dest", "h1");
        var reader = new FetchStreamReader(host, "h1");
        await reader.ReadAsync(FetchStream([("/var/log/a.log", Sha("a")), ("./b.txt", Sha("b"))], [("var/log/a.log", "a"), ("./b.txt", "b")]), CancellationToken.None);

        Assert.Null(reader.StreamError);
        Assert.All(reader.Files, f => Assert.Null(f.Error));
        Assert.Equal("a", File.ReadAllText(Path.Combine(host, "var", "log", "a.log")));
        Assert.Equal("b", File.ReadAllText(Path.Combine(host, "b.txt")));
        Assert.Equal(new[] { "/var/log/a.log", "./b.txt" }, reader.Files.Select(f => f.RemotePath));
        Assert.Empty(reader.Missing());
        Assert.Empty(Directory.EnumerateFiles(host, ".prov-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_file_whose_content_does_not_match_the_hosts_checksum_is_ChecksumMismatch_and_not_kept()
    {
        using var dir = new TempDirectory();
        var host = dir.Combine("h1");
        var reader = new FetchStreamReader(host, "h1");
        await reader.ReadAsync(FetchStream([("r.txt", Sha("expected"))], [("r.txt", "tampered")]), CancellationToken.None);

        var f = Assert.Single(reader.Files);
        Assert.Equal(ErrorKind.ChecksumMismatch, f.Error!.Kind);
        Assert.Null(f.LocalPath);
        Assert.Equal(Sha("tampered"), f.Sha256);
        Assert.False(File.Exists(Path.Combine(host, "r.txt")));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Entries_that_would_leave_the_host_folder_or_that_the_manifest_does_not_name_are_skipped()
    {
        using var dir = new TempDirectory();
        var host = dir.Combine("dest", "h1");
        var reader = new FetchStreamReader(host, "h1");
        await reader.ReadAsync(FetchStream(
            [("../../escape.txt", Sha("x")), ("ok.txt", Sha("ok"))],
            [("../../escape.txt", "x"), ("unlisted.txt", "u"), ("ok.txt", "ok")]), CancellationToken.None);

        Assert.Contains(reader.Files, f => f.RemotePath == "../../escape.txt" && f.Error!.Kind == ErrorKind.PathOutsideAllowedTree);
        Assert.Contains(reader.Files, f => f.RemotePath == "unlisted.txt" && f.Error!.Kind == ErrorKind.TransferFailed);
        Assert.Contains(reader.Files, f => f.RemotePath == "ok.txt" && f.Error is null);
        Assert.False(File.Exists(dir.Combine("escape.txt")));
        Assert.False(File.Exists(dir.Combine("dest", "escape.txt")));
        Assert.Equal(new[] { "ok.txt" }, Directory.EnumerateFiles(host, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_file_leaves_no_partial_file_and_lists_it_as_missing()
    {
        using var dir = new TempDirectory();
        var host = dir.Combine("h1");
        var big = new string('z', 4000);
        var reader = new FetchStreamReader(host, "h1");
        await reader.ReadAsync(FetchStream([("first.txt", Sha("1")), ("big.txt", Sha(big))], [("first.txt", "1"), ("big.txt", big)], cutLastEntry: true), CancellationToken.None);

        Assert.NotNull(reader.StreamError);
        Assert.Equal("1", File.ReadAllText(Path.Combine(host, "first.txt")));
        Assert.Equal(new[] { "big.txt" }, reader.Missing());
        Assert.Equal(new[] { "first.txt" }, Directory.EnumerateFiles(host, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_no_match_header_and_garbage_are_told_apart()
    {
        using var dir = new TempDirectory();
        var none = new FetchStreamReader(dir.Combine("h1"), "h1");
        await none.ReadAsync(new MemoryStream(Encoding.ASCII.GetBytes(TransferScripts.NoMatchHeader + "\n")), CancellationToken.None);
        Assert.True(none.NoMatch);

        var garbage = new FetchStreamReader(dir.Combine("h2"), "h2");
        await garbage.ReadAsync(new MemoryStream(Encoding.ASCII.GetBytes("sh: 1: mktemp: not found\n")), CancellationToken.None);
        Assert.False(garbage.HeaderSeen);
        Assert.NotNull(garbage.StreamError);
    }

    [Fact]
    public void A_probe_answer_gives_kind_hashes_and_modes()
    {
        var h = Sha("x");
        var probe = RemoteProbe.Parse($"D\0{h}  a.txt\0{h}  sub/b c.txt\0M644 a.txt\0M4755 sub/b c.txt\0")!;
        Assert.True(probe.IsDirectory);
        Assert.Equal(h, probe.Hashes["sub/b c.txt"]);
        Assert.Equal(Convert.ToInt32("4755", 8), probe.Modes["sub/b c.txt"]);
        Assert.Equal(Convert.ToInt32("644", 8), probe.Modes["a.txt"]);

        var file = RemoteProbe.Parse($"F\0{h}  /root/x.conf\0M600 /root/x.conf\0")!;
        Assert.True(file.IsFile);
        Assert.Equal((h, Convert.ToInt32("600", 8)), file.Single());
        Assert.Null(RemoteProbe.Parse("sh: 1: sha256sum: not found\n"));
    }

    [Fact]
    public async Task An_upload_stream_carries_the_manifest_each_file_beside_its_destination_then_the_end_marker()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a.txt", "alpha");
        var source = new LocalSourceFile(a, "a.txt", 5, UnixFileMode.UserRead, File.GetLastWriteTimeUtc(a));
        var archive = new UploadArchive("n1", [
            new UploadFile { Name = "conf/a.txt", Source = source, Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite },
            new UploadFile { Name = "b.txt", Source = source, Content = Encoding.UTF8.GetBytes("rendered"), Mode = UnixFileMode.UserRead },
        ]);
        var stream = new MemoryStream();
        await archive.WriteAsync(stream, CancellationToken.None);
        Assert.Null(archive.LocalFailure);

        stream.Position = 0;
        using var tar = new TarReader(stream);
        var entries = new List<(string Name, string Content, UnixFileMode Mode)>();
        while (tar.GetNextEntry() is { } e)
            entries.Add((e.Name, e.DataStream is null ? "" : new StreamReader(e.DataStream).ReadToEnd(), e.Mode));
        Assert.Equal(new[] { ".prov-n1.list", "conf/.prov-n1-0", ".prov-n1-1", ".prov-n1.end" }, entries.Select(e => e.Name));
        Assert.Equal("conf/a.txt\nb.txt\n", entries[0].Content);
        Assert.Equal(("alpha", UnixFileMode.UserRead | UnixFileMode.UserWrite), (entries[1].Content, entries[1].Mode));
        Assert.Equal("rendered", entries[2].Content);
        Assert.Equal(archive.TemporaryNames().Order(), entries.Select(e => e.Name).Order());
    }

    [Fact]
    public async Task An_upload_whose_source_changed_after_it_was_hashed_has_no_end_marker()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a.txt", "alpha");
        var source = new LocalSourceFile(a, "a.txt", 5, UnixFileMode.UserRead, File.GetLastWriteTimeUtc(a));
        File.WriteAllText(a, "alpha, longer now");
        var archive = new UploadArchive("n2", [new UploadFile { Name = "a.txt", Source = source, Mode = UnixFileMode.UserRead }]);
        var stream = new MemoryStream();
        await archive.WriteAsync(stream, CancellationToken.None);

        Assert.True(archive.SourceChanged);
        Assert.Contains("changed while it was being sent", archive.LocalFailure);
        stream.Position = 0;
        using var tar = new TarReader(stream);
        var names = new List<string>();
        while (tar.GetNextEntry() is { } e) names.Add(e.Name);
        Assert.DoesNotContain(".prov-n2.end", names);
    }
}
