using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Provisioning.Core.Packages;

namespace Provisioning.Completion;

/// <summary>Completes -Name with the packages of the controller's cache (-CachePath, or the default cache), filtered by -Manager.</summary>
public sealed class PackageNameCompleter : IArgumentCompleter
{
    /// <summary>Cached package names starting with <paramref name="wordToComplete"/>, with their versions as tooltip.</summary>
    /// <param name="commandName">The command being completed.</param>
    /// <param name="parameterName">The parameter being completed.</param>
    /// <param name="wordToComplete">What the user typed so far.</param>
    /// <param name="commandAst">The command's syntax tree.</param>
    /// <param name="fakeBoundParameters">Parameters typed so far.</param>
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var root = fakeBoundParameters?["CachePath"] as string ?? PackageCache.DefaultRoot;
        var manager = fakeBoundParameters?["Manager"] as string;
        try
        {
            if (!Directory.Exists(root)) return [];
            return CompletionText.Complete(PackageCache.Open(root).Entries
                .Where(e => manager is null || string.Equals(e.Manager.ToString(), manager, StringComparison.OrdinalIgnoreCase))
                .GroupBy(e => e.Name, StringComparer.Ordinal)
                .Select(g => (g.Key, $"{g.Key} ({g.First().Manager.ToString().ToLowerInvariant()}): {string.Join(", ", g.Select(e => e.Version).Distinct())}")), wordToComplete);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return []; // a cache that does not read offers nothing; using it says why
        }
    }
}
