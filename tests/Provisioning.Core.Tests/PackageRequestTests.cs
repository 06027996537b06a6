using System.IO.Compression;
using Provisioning.Core.Errors;
using Provisioning.Core.Packages;

namespace Provisioning.Core.Tests;

/// <summary>Package names as users write them, the tagged lines the host scripts answer with, and the cache's manifest.</summary>
public sealed class PackageRequestTests
{
    [Theory]
    [InlineData("iperf3", PackageManager.Apt, "iperf3", null)]
    [InlineData("libc6=2.36-9", PackageManager.Apt, "libc6", "2.36-9")]
    [InlineData("Python3-NumPy", PackageManager.Apt, "python3-numpy", null)]
    [InlineData("pydcop==0.1.2", PackageManager.Pip, "pydcop", "0.1.2")]
    [InlineData("@scope/tool@1.2.3", PackageManager.Npm, "@scope/tool", "1.2.3")]
    [InlineData("left-pad", PackageManager.Npm, "left-pad", null)]
    public void Names_and_pinned_versions_read_as_each_manager_writes_them(string text, PackageManager manager, string name, string? version)
    {
        var request = PackageRequest.Parse(text, manager);
        Assert.Equal(name, request.Name);
        Assert.Equal(version, request.Version);
    }

    [Fact]
    public void Version_pins_a_bare_name_and_a_conflicting_pin_is_refused()
    {
        Assert.Equal("2.0", PackageRequest.Parse("tool", PackageManager.Pip, "2.0").Version);
        var conflict = Assert.Throws<ProvisioningException>(() => PackageRequest.Parse("tool==1.0", PackageManager.Pip, "2.0"));
        Assert.Equal(ErrorKind.PackageSpecInvalid, conflict.Kind);
    }

    [Theory]
    [InlineData("bad name", PackageManager.Apt)]
    [InlineData("x;rm -rf /", PackageManager.Apt)]
    [InlineData("tool==1.0 --index-url=http://evil", PackageManager.Pip)]
    [InlineData("UPPER", PackageManager.Npm)]
    public void Names_a_manager_would_not_take_are_refused_before_anything_runs(string text, PackageManager manager) =>
        Assert.Equal(ErrorKind.PackageSpecInvalid, Assert.Throws<ProvisioningException>(() => PackageRequest.Parse(text, manager)).Kind);

    [Fact]
    public void Pip_names_compare_in_their_normalized_form() =>
        Assert.True(new PackageRequest("Zope.Interface", null).Names("zope_interface", PackageManager.Pip));

    [Fact]
    public void The_apt_plan_lines_give_the_closure_with_its_hashes_and_what_the_host_already_has()
    {
        var sha = new string('a', 64);
        var output = PackageScriptOutput.Parse(string.Join('\n',
            "R bookworm amd64",
            "S app not-installed",
            $"U 'http://127.0.0.1:9/./lib_1%3a2.0_amd64.deb' lib_1%3a2.0_amd64.deb 1200 SHA256:{sha}",
            "U 'http://127.0.0.1:9/./app_1.0_all.deb' app_1.0_all.deb 700 MD5Sum:2b4d8f52ee75c94b23efa37797cdccf9",
            $"C app 1.0 ./app_1.0_all.deb {new string('b', 64)} 700",
            $"K lib_1%3a2.0_amd64.deb {sha}",
            "N http://127.0.0.1:9 0"), PackageManager.Apt);
        Assert.Equal("bookworm", output.Release);
        Assert.Null(output.InstalledVersion("app"));
        Assert.Equal(2, output.Uris.Count);
        Assert.Equal(sha, output.Uris[0].Sha256);
        Assert.Null(output.Uris[1].Sha256);
        Assert.Equal(new string('b', 64), output.ListedFiles["app_1.0_all.deb"].Sha256);
        Assert.Equal(sha, output.InArchives["lib_1%3a2.0_amd64.deb"]);
        Assert.Contains(("lib", "1:2.0", "amd64"), output.Planned);
        Assert.False(output.Reachable["http://127.0.0.1:9"]);
    }

    [Fact]
    public void Pip_and_npm_lists_read_their_installed_versions()
    {
        var pip = PackageScriptOutput.Parse("F Zope.Interface==6.0\nF editable @ file:///src\nB old==1.0\n", PackageManager.Pip);
        Assert.Equal("6.0", pip.Installed["zope-interface"]);
        Assert.Equal("1.0", pip.InstalledBefore["old"]);
        var npm = PackageScriptOutput.Parse("F /usr/lib/node_modules/@scope/tool:@scope/tool@1.2.3\n", PackageManager.Npm);
        Assert.Equal("1.2.3", npm.Installed["@scope/tool"]);
    }

    [Fact]
    public void A_folder_of_wheels_is_a_cache_and_its_manifest_records_name_version_and_hash()
    {
        using var folder = new TempDirectory();
        var wheel = Path.Combine(folder.Path, "tiny_pkg-1.0-py3-none-any.whl");
        using (var zip = ZipFile.Open(wheel, ZipArchiveMode.Create))
        using (var writer = new StreamWriter(zip.CreateEntry("tiny_pkg-1.0.dist-info/METADATA").Open()))
            writer.Write("Metadata-Version: 2.1\nName: tiny-pkg\nVersion: 1.0\nRequires-Dist: dep (>=2)\nRequires-Dist: extra-only ; extra == \"test\"\n\n");
        var cache = PackageCache.Open(folder.Path);
        var entry = Assert.Single(cache.Find(PackageManager.Pip, new PackageRequest("tiny-pkg", null)));
        Assert.Equal("1.0", entry.Version);
        Assert.Equal(["dep"], entry.Requires);
        Assert.Equal(64, entry.Sha256.Length);
        cache.Refresh();
        Assert.Contains("\"sha256\"", File.ReadAllText(Path.Combine(folder.Path, PackageCache.ManifestName)));
        Assert.Equal(entry.File, PackageCache.Open(folder.Path).FindBySha256(entry.Sha256)?.File);
    }

    [Fact]
    public void A_manifest_that_does_not_read_is_a_clear_error()
    {
        using var folder = new TempDirectory();
        File.WriteAllText(Path.Combine(folder.Path, PackageCache.ManifestName), "{ not json");
        var error = Assert.Throws<ProvisioningException>(() => PackageCache.Open(folder.Path));
        Assert.Equal(ErrorKind.PackageCacheInvalid, error.Kind);
        Assert.Contains(PackageCache.ManifestName, error.Message);
    }
}
