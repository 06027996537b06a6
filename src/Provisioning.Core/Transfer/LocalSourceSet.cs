using Microsoft.Extensions.FileSystemGlobbing;
using Microsoft.Extensions.FileSystemGlobbing.Abstractions;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Transfer;

/// <summary>
/// The files a send takes from the controller: a single file, or a tree (a directory's files, or a glob's
/// matches) with paths relative to its base folder.
/// </summary>
internal sealed class LocalSourceSet
{
    private LocalSourceSet(string given, bool isSingleFile, IReadOnlyList<LocalSourceFile> files)
    {
        Given = given;
        IsSingleFile = isSingleFile;
        Files = files;
    }

    /// <summary>The path as the caller gave it.</summary>
    public string Given { get; }
    /// <summary>True for one file (the destination may name the file); false for a directory or glob.</summary>
    public bool IsSingleFile { get; }
    /// <summary>The files, in a stable order.</summary>
    public IReadOnlyList<LocalSourceFile> Files { get; }

    /// <summary>
    /// Resolves <paramref name="path"/>: an existing file or directory is taken literally; otherwise a path with
    /// <c>*</c> is a glob (<c>*</c> within a name, <c>**</c> across folders). Throws LocalPathNotFound when
    /// nothing exists or matches, so a typo fails before any host is contacted.
    /// </summary>
    public static LocalSourceSet Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new ProvisioningException(ErrorKind.LocalPathNotFound, "No local path was given.", path);
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
            return new LocalSourceSet(path, true, new[] { Describe(full, System.IO.Path.GetFileName(full)) });
        if (Directory.Exists(full))
            return Tree(path, full, "**/*", $"Directory '{full}' has no files to send.");
        if (full.Contains('*'))
        {
            var (baseDirectory, pattern) = SplitGlob(full);
            if (!Directory.Exists(baseDirectory))
                throw new ProvisioningException(ErrorKind.LocalPathNotFound,
                    $"Cannot send '{path}': folder '{baseDirectory}' does not exist.", path);
            return Tree(path, baseDirectory, pattern, $"No local file matches '{path}'.");
        }
        throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"Cannot send '{path}': no such file or directory ('{full}').", path);
    }

    private static LocalSourceSet Tree(string given, string baseDirectory, string pattern, string whenEmpty)
    {
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(pattern);
        var matches = matcher.Execute(new DirectoryInfoWrapper(new DirectoryInfo(baseDirectory)));
        var files = matches.Files
            .Select(m => m.Path.Replace('\\', '/'))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(p => p, StringComparer.Ordinal)
            .Select(rel => Describe(System.IO.Path.Combine(baseDirectory, rel), rel))
            .ToArray();
        if (files.Length == 0) throw new ProvisioningException(ErrorKind.LocalPathNotFound, whenEmpty, given);
        return new LocalSourceSet(given, false, files);
    }

    /// <summary>Splits <c>/a/b/**/*.txt</c> into the folder before the first wildcard and the rest.</summary>
    private static (string BaseDirectory, string Pattern) SplitGlob(string full)
    {
        var segments = full.Split('/');
        var first = Array.FindIndex(segments, s => s.Contains('*'));
        var baseDirectory = string.Join('/', segments.Take(first));
        return (baseDirectory.Length == 0 ? "/" : baseDirectory, string.Join('/', segments.Skip(first)));
    }

    private static LocalSourceFile Describe(string fullPath, string relativePath)
    {
        var info = new FileInfo(fullPath);
        if (relativePath.Contains('\n'))
            throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"Cannot send '{fullPath}': file names with a line break are not supported.", fullPath);
        var mode = OperatingSystem.IsWindows()
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead
            : info.UnixFileMode;
        return new LocalSourceFile(fullPath, relativePath, info.Length, mode, info.LastWriteTimeUtc);
    }
}
