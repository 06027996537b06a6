using System.Diagnostics;
using System.Security.Cryptography;
using Provisioning.Core.Execution;
using Provisioning.Core.Provision;
using Provisioning.Core.Testbeds;
using Provisioning.Core.Testbeds.Local;
using static Provisioning.IntegrationTests.TransferTestKit;

namespace Provisioning.IntegrationTests.Provision;

/// <summary>
/// The package task with apt, for real and with nothing from the internet: the test builds a tiny .deb, and a provision
/// step ships it with a flat repository index to a private-root agent (file tasks), points apt at it and refreshes only
/// that source. Then the package task installs it (the manager from the agent's facts), reports AlreadyPresent as Ok on
/// a rerun, and removes it.
/// </summary>
public sealed class PackageTaskTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prov-package-").FullName;
    private Testbed _testbed = null!;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _testbed = await LocalProvider.StartAsync(new LocalTestbedOptions { Count = 1, Name = "packages", Isolation = LocalIsolation.Private }, timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _testbed.RemoveAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [SkippableFact]
    public async Task A_package_from_a_local_repository_installs_once_and_is_removed()
    {
        Skip.IfNot(File.Exists("/usr/bin/dpkg-deb") && File.Exists("/usr/bin/apt-get"), "needs dpkg-deb and apt (a Debian controller and agents)");
        Skip.IfNot(Environment.UserName == "root", "private roots need root (CI runs as root)");
        var tag = Guid.NewGuid().ToString("N")[..8];
        var package = $"prov-tiny-{tag}";
        var deb = BuildDeb(package);
        var bytes = await File.ReadAllBytesAsync(deb);
        File.WriteAllText(Path.Combine(_folder, "Packages"),
            $"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: Provisioning tests <tests@localhost>\nFilename: ./{package}.deb\n" +
            $"Size: {bytes.Length}\nSHA256: {Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant()}\nDescription: a package the tests build\n\n");
        var repo = $"/srv/repo-{tag}";
        var list = $"/etc/apt/sources.list.d/prov-{tag}.list";
        var document = ProvisionDocumentReader.Read($$$"""
            steps:
              - name: repository
                tasks:
                  - directory: { path: {{{repo}}} }
                  - file: { path: {{{repo}}}/{{{package}}}.deb, copy: ./{{{package}}}.deb }
                  - file: { path: {{{repo}}}/Packages, copy: ./Packages }
                  - file: { path: {{{list}}}, content: "deb [trusted=yes] file:{{{repo}}} ./\n" }
                  - command:
                      run: apt-get update -q -o Dir::Etc::SourceList={{{list}}} -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0
                      unless: apt-cache show {{{package}}}
              - name: install
                tasks:
                  - package: { name: {{{package}}} }
              - name: latest
                tasks:
                  - package: { name: {{{package}}}, state: latest }
                  - package: { name: {{{package}}}, version: "1.0" }
              - name: remove
                tasks:
                  - package: { name: {{{package}}}, state: absent }
            """, Path.Combine(_folder, "packages.yaml"), _folder);
        var machine = _testbed.Machines[0];

        var first = await Run(document, ["repository", "install"], machine);
        var install = Assert.Single(first.OfType<ProvisionResult>(), r => r.TaskType == ProvisionTaskType.Package);
        Assert.True(install.TaskStatus == ProvisionTaskStatus.Changed, $"{install.TaskStatus}: {install.Message}");
        Assert.Contains(package, install.Message);
        Assert.Equal("hello from the package", await Shell(machine, $"cat /usr/share/{package}/hello"));
        Assert.Equal("", (await Shell(machine, $"dpkg-query -W {package} >/dev/null 2>&1 || echo missing; dpkg -s dpkg >/dev/null 2>&1 || echo broken; ls /var/lib/dpkg/updates | head -1")));

        var again = await Run(document, ["repository", "install"], machine);
        Assert.All(again.OfType<ProvisionResult>(), r => Assert.Equal(ProvisionTaskStatus.Ok, r.TaskStatus));

        var latest = await Run(document, ["latest"], machine);
        Assert.All(latest.OfType<ProvisionResult>(), r => Assert.True(r.TaskStatus == ProvisionTaskStatus.Ok, $"{r.Task}: {r.TaskStatus} {r.Message}"));

        var check = await Run(document, ["remove"], machine, check: true);
        Assert.Equal(ProvisionTaskStatus.Changed, Assert.Single(check.OfType<ProvisionResult>()).TaskStatus);
        Assert.Equal("installed", await Shell(machine, $"dpkg-query -W -f='${{db:Status-Status}}' {package}"));

        var removed = await Run(document, ["remove"], machine);
        Assert.Equal(ProvisionTaskStatus.Changed, Assert.Single(removed.OfType<ProvisionResult>()).TaskStatus);
        Assert.Equal("gone", await Shell(machine, $"test -e /usr/share/{package}/hello && echo there || echo gone"));
        Assert.False(File.Exists($"/usr/share/{package}/hello"), "the package reached the controller's own root");
    }

    private string BuildDeb(string package)
    {
        var root = Path.Combine(_folder, "build");
        Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(root, "usr", "share", package));
        File.WriteAllText(Path.Combine(root, "DEBIAN", "control"),
            $"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: Provisioning tests <tests@localhost>\nDescription: a package the tests build\n");
        File.WriteAllText(Path.Combine(root, "usr", "share", package, "hello"), "hello from the package\n");
        var deb = Path.Combine(_folder, package + ".deb");
        var start = new ProcessStartInfo("dpkg-deb", ["--build", "--root-owner-group", root, deb]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"dpkg-deb: {error}");
        return deb;
    }

    private static async Task<List<ProvisionRecord>> Run(ProvisionDocument document, IReadOnlyList<string> steps, AgentMachine machine, bool check = false) =>
        await DrainAsync(Provisioner.Operation(new ProvisionSpec { Document = document, Steps = steps, Check = check }).Stream([machine], null, CancellationToken.None));

    private static async Task<string> Shell(AgentMachine machine, string command) => (await RemoteAsync(machine, command)).Trim();
}
