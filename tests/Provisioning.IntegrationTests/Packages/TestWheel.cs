using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Provisioning.IntegrationTests.Packages;

/// <summary>Builds a tiny pure-Python wheel by hand (a zip with the module, METADATA, WHEEL and RECORD), with no Python needed.</summary>
internal static class TestWheel
{
    /// <summary>Writes <c>{name}-{version}-py3-none-any.whl</c> into <paramref name="folder"/>; importing <paramref name="name"/> gives <c>VALUE</c>.</summary>
    public static string Build(string folder, string name, string version, params string[] requires)
    {
        var distInfo = $"{name}-{version}.dist-info";
        var files = new Dictionary<string, string>
        {
            [$"{name}/__init__.py"] = $"VALUE = '{name} {version}'\n",
            [$"{distInfo}/METADATA"] = $"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + string.Concat(requires.Select(r => $"Requires-Dist: {r}\n")) + "\n",
            [$"{distInfo}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: provisioning-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        };
        var record = new StringBuilder();
        foreach (var (path, content) in files)
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            var hash = Convert.ToBase64String(SHA256.HashData(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            record.Append($"{path},sha256={hash},{bytes.Length}\n");
        }
        record.Append($"{distInfo}/RECORD,,\n");
        files[$"{distInfo}/RECORD"] = record.ToString();
        var wheel = Path.Combine(folder, $"{name}-{version}-py3-none-any.whl");
        using var zip = ZipFile.Open(wheel, ZipArchiveMode.Create);
        foreach (var (path, content) in files)
        {
            using var stream = zip.CreateEntry(path).Open();
            stream.Write(Encoding.UTF8.GetBytes(content));
        }
        return wheel;
    }
}
