using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Tests;

public class TestbedStateDirectoryTests
{
    [Fact]
    public void Is_name_dash_first_ten_hex_digits_of_the_sha256_of_the_full_path()
    {
        var full = Path.GetFullPath("/srv/exp/lab.yaml");
        var expectedHash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(full))).ToLowerInvariant()[..10];
        Assert.Equal(Path.Combine("/root-of-state", $"lab-{expectedHash}"), TestbedStateDirectory.For(full, "lab", "/root-of-state"));
    }

    [Fact]
    public void A_relative_path_is_hashed_as_its_full_path() =>
        Assert.Equal(
            TestbedStateDirectory.For(Path.GetFullPath("lab.yaml"), "lab", "/r"),
            TestbedStateDirectory.For("lab.yaml", "lab", "/r"));

    [Fact]
    public void Different_files_with_the_same_name_get_different_folders() =>
        Assert.NotEqual(TestbedStateDirectory.For("/a/lab.yaml", "lab", "/r"), TestbedStateDirectory.For("/b/lab.yaml", "lab", "/r"));

    [Fact]
    public void Unsafe_characters_in_the_name_cannot_escape_the_root()
    {
        var dir = TestbedStateDirectory.For("/a/lab.yaml", "../../etc/x y", "/r");
        Assert.Equal("/r", Path.GetDirectoryName(dir));
        Assert.StartsWith(".._.._etc_x_y-", Path.GetFileName(dir));
    }

    [Fact]
    public void Root_follows_XDG_STATE_HOME_or_falls_back_to_local_state()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        var expected = string.IsNullOrEmpty(xdg) || !Path.IsPathRooted(xdg)
            ? Path.Combine(Environment.GetEnvironmentVariable("HOME")!, ".local", "state", "provisioning")
            : Path.Combine(xdg, "provisioning");
        Assert.Equal(expected, TestbedStateDirectory.Root);
    }

    [Fact]
    public void Loading_a_file_without_state_dir_creates_the_default_folder_under_Root()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("default-state.yaml", "hosts: { a: }\n");
        var expected = TestbedStateDirectory.For(path, "default-state");
        Assert.StartsWith(TestbedStateDirectory.Root, expected);
        var existedBefore = Directory.Exists(expected);
        try
        {
            var testbed = TestbedLoader.Load(path);
            Assert.Equal(expected, testbed.StateDirectory);
            Assert.True(Directory.Exists(expected));
            // A new session (a new load of the same file) finds the same folder, hence the same journal.
            Assert.Equal(expected, TestbedLoader.Load(path).StateDirectory);
        }
        finally
        {
            if (!existedBefore && Directory.Exists(expected)) Directory.Delete(expected, recursive: true);
        }
    }
}
