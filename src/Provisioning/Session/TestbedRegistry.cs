using System.Management.Automation;
using Provisioning.Core.Testbeds;

namespace Provisioning.Session;

/// <summary>
/// The testbeds loaded in this process and the current one (the last one loaded, unless it was removed).
/// Process-wide on purpose: runspaces of the same session (ForEach-Object -Parallel, jobs on threads) see the
/// same testbeds and reuse the same master connections.
/// </summary>
internal static class TestbedRegistry
{
    private static readonly object Gate = new();
    private static readonly List<Testbed> Loaded = [];
    private static Testbed? _current;

    static TestbedRegistry()
    {
        // A pwsh that exits normally must not leave Local agents (sshd) or master connections behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveAllOnExit();
    }

    /// <summary>The current testbed, or null when none is loaded.</summary>
    public static Testbed? Current
    {
        get { lock (Gate) return _current; }
    }

    /// <summary>Every loaded testbed, oldest first.</summary>
    public static IReadOnlyList<Testbed> All
    {
        get { lock (Gate) return Loaded.ToArray(); }
    }

    /// <summary>Adds a fully loaded testbed and makes it current.</summary>
    public static void Add(Testbed testbed)
    {
        ArgumentNullException.ThrowIfNull(testbed);
        lock (Gate)
        {
            if (!Loaded.Contains(testbed)) Loaded.Add(testbed);
            _current = testbed;
        }
    }

    /// <summary>
    /// Forgets <paramref name="testbed"/>. When it was current there is no current testbed any more: silently
    /// switching to another one could send the next command to machines the user did not mean.
    /// </summary>
    public static void Forget(Testbed testbed)
    {
        lock (Gate)
        {
            Loaded.Remove(testbed);
            if (ReferenceEquals(_current, testbed)) _current = null;
        }
    }

    /// <summary>True when <paramref name="testbed"/> is the current one.</summary>
    public static bool IsCurrent(Testbed testbed)
    {
        lock (Gate) return ReferenceEquals(_current, testbed);
    }

    /// <summary>Loaded testbeds whose name matches <paramref name="pattern"/> (wildcards, case-insensitive).</summary>
    public static IReadOnlyList<Testbed> Find(string pattern)
    {
        var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
        return All.Where(t => wildcard.IsMatch(t.Name)).ToArray();
    }

    private static void RemoveAllOnExit()
    {
        Testbed[] testbeds;
        lock (Gate)
        {
            testbeds = [.. Loaded];
            Loaded.Clear();
            _current = null;
        }
        if (testbeds.Length == 0) return;
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            Task.WhenAll(testbeds.Select(t => t.RemoveAsync(grace.Token))).Wait(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // The process is exiting: nobody is left to tell, and the providers clean up what they can.
        }
    }
}
