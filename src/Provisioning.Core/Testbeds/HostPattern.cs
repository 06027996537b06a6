using System.Globalization;
using System.Text.RegularExpressions;
using Provisioning.Core.Errors;

namespace Provisioning.Core.Testbeds;

/// <summary>
/// Ansible host patterns over a testbed: <c>a:b</c> union, <c>a:&amp;b</c> intersection, <c>a:!b</c> exclusion;
/// each term is a role, a host name, a range or a wildcard (<c>web*</c>); <c>all</c> and <c>*</c> select everything.
/// </summary>
/// <remarks>
/// <para>Terms are separated by <c>:</c> or <c>,</c> (outside brackets). As in Ansible, the plain terms are united
/// first (all hosts when there is none, so <c>!a2</c> means "all but a2"), then each <c>&amp;</c> term intersects and
/// each <c>!</c> term excludes, whatever their order in the pattern.</para>
/// <para>A term is, without regard to case: <c>all</c> or <c>*</c>; a role name (its hosts); a host name; a host
/// range (<c>node[1-4]</c>, <c>n[1,3]</c>); a wildcard over host and role names (<c>web*</c>, <c>node?</c>);
/// a regular expression after <c>~</c> (<c>~web\d+</c>, matched from the start of the name, as Ansible does); or
/// a role or wildcard followed by an Ansible subscript: <c>clients[0]</c>, <c>clients[-1]</c>, <c>clients[1:3]</c>
/// (0-based and, as in Ansible, both ends included: <c>clients[1:3]</c> is the 2nd to the 4th member). A bracket after
/// a role name is read as a subscript, after anything else as a range.</para>
/// <para>One difference from Ansible, kept on purpose: Ansible's wildcards also match the group <c>all</c>, so there
/// <c>a*</c> selects every host; here a wildcard matches host and role names only, so <c>a*</c> is the hosts and
/// roles whose names start with <c>a</c>.</para>
/// <para>A name that is neither a role nor a host matches nothing; the caller warns about an empty selection.
/// The result is in testbed order, without repeats.</para>
/// </remarks>
public static partial class HostPattern
{
    [GeneratedRegex(@"^(?<prefix>[^\[\]]+)\[(?:(?<index>-?\d+)|(?<start>-?\d*):(?<end>-?\d*))\]$")]
    private static partial Regex Subscript();

    /// <summary>Machines matching <paramref name="pattern"/>, in testbed order. Throws ProvisioningException(PatternInvalid) when malformed.</summary>
    public static IReadOnlyList<AgentMachine> Select(Testbed testbed, string pattern)
    {
        ArgumentNullException.ThrowIfNull(testbed);
        ArgumentNullException.ThrowIfNull(pattern);
        if (string.IsNullOrWhiteSpace(pattern)) throw Invalid(pattern, "it is empty; use 'all' for every host.");

        var union = new List<string>();
        var intersections = new List<string>();
        var exclusions = new List<string>();
        var terms = Split(pattern);
        for (var i = 0; i < terms.Count; i++)
        {
            var term = terms[i].Trim();
            if (term.Length == 0) throw Invalid(pattern, $"term {i + 1} is empty (two separators in a row, or one at an end).");
            var op = term[0];
            var body = op is '&' or '!' ? term[1..].Trim() : term;
            if (body.Length == 0) throw Invalid(pattern, $"'{op}' in term {i + 1} must be followed by a role, host, range or wildcard.");
            if (body[0] is '&' or '!') throw Invalid(pattern, $"term {i + 1} ('{term}') has more than one operator.");
            (op switch { '&' => intersections, '!' => exclusions, _ => union }).Add(body);
        }

        var selected = union.Count == 0
            ? new HashSet<AgentMachine>(testbed.Machines)
            : union.SelectMany(t => Resolve(testbed, t, pattern)).ToHashSet();
        foreach (var term in intersections) selected.IntersectWith(Resolve(testbed, term, pattern));
        foreach (var term in exclusions) selected.ExceptWith(Resolve(testbed, term, pattern));
        return testbed.Machines.Where(selected.Contains).ToArray();
    }

    /// <summary>Splits on ':' and ',' outside brackets, so <c>n[1,3]</c> and <c>role[0:2]</c> stay whole.</summary>
    private static List<string> Split(string pattern)
    {
        var terms = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '[': depth++; break;
                case ']': depth = Math.Max(0, depth - 1); break;
                case ':' or ',' when depth == 0:
                    terms.Add(pattern[start..i]);
                    start = i + 1;
                    break;
            }
        }
        terms.Add(pattern[start..]);
        return terms;
    }

    /// <summary>The machines one term (without its operator) selects, in testbed order unless a subscript orders them.</summary>
    private static IReadOnlyList<AgentMachine> Resolve(Testbed testbed, string term, string pattern)
    {
        if (term is "*" || term.Equals("all", StringComparison.OrdinalIgnoreCase)) return testbed.Machines;
        if (term[0] == '~') return ByRegex(testbed, term[1..], pattern);

        if (Subscript().Match(term) is { Success: true } subscript && IsSubscript(testbed, subscript))
        {
            var members = Ordered(testbed, subscript.Groups["prefix"].Value);
            return subscript.Groups["index"].Success
                ? Index(members, Parse(subscript.Groups["index"].Value))
                : Slice(members, subscript.Groups["start"].Value, subscript.Groups["end"].Value);
        }

        if (HostRange.IsRange(term))
        {
            IReadOnlyList<string> names;
            try
            {
                names = HostRange.Expand(term);
            }
            catch (FormatException ex)
            {
                throw Invalid(pattern, ex.Message);
            }
            return names.SelectMany(n => Simple(testbed, n)).ToArray();
        }
        return Simple(testbed, term);
    }

    /// <summary>A name or wildcard, matched against host names and role names.</summary>
    private static IReadOnlyList<AgentMachine> Simple(Testbed testbed, string term)
    {
        if (term.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            var regex = new Regex("^" + Regex.Escape(term).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
            return Matching(testbed, regex.IsMatch);
        }
        return Matching(testbed, name => string.Equals(name, term, StringComparison.OrdinalIgnoreCase));
    }

    private static IReadOnlyList<AgentMachine> ByRegex(Testbed testbed, string expression, string pattern)
    {
        if (expression.Length == 0) throw Invalid(pattern, "'~' must be followed by a regular expression.");
        Regex regex;
        try
        {
            // Anchored at the start only, like Python's re.match that Ansible uses.
            regex = new Regex(@"\A(?:" + expression + ")", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw Invalid(pattern, $"'~{expression}' is not a valid regular expression: {ex.Message}");
        }
        return Matching(testbed, name =>
        {
            try
            {
                return regex.IsMatch(name);
            }
            catch (RegexMatchTimeoutException)
            {
                throw Invalid(pattern, $"the regular expression '~{expression}' takes too long to match.");
            }
        });
    }

    /// <summary>Hosts whose name matches, plus the hosts of every role whose name matches.</summary>
    private static IReadOnlyList<AgentMachine> Matching(Testbed testbed, Func<string, bool> matches)
    {
        var roleHosts = testbed.Roles.Where(r => matches(r.Key)).SelectMany(r => r.Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return testbed.Machines.Where(m => matches(m.Name) || roleHosts.Contains(m.Name)).ToArray();
    }

    /// <summary>What a subscript applies to: a role's hosts in the role's order (as Ansible groups keep theirs), else testbed order.</summary>
    private static IReadOnlyList<AgentMachine> Ordered(Testbed testbed, string prefix)
    {
        if (IsAll(prefix)) return testbed.Machines;
        if (testbed.Roles.TryGetValue(prefix, out var hosts) && testbed[prefix] is null)
            return hosts.Select(h => testbed[h]).OfType<AgentMachine>().ToArray();
        return Simple(testbed, prefix);
    }

    /// <summary>
    /// <c>x[1]</c> is both a subscript and a one-host range; it is a subscript when x is a role or a wildcard, or
    /// when the bracket cannot be a range (a slice <c>[0:2]</c>, a negative index).
    /// </summary>
    private static bool IsSubscript(Testbed testbed, Match subscript)
    {
        var prefix = subscript.Groups["prefix"].Value;
        var index = subscript.Groups["index"];
        return !index.Success
            || index.Value.StartsWith('-')
            || testbed.Roles.ContainsKey(prefix)
            || IsAll(prefix)
            || prefix.AsSpan().IndexOfAny('*', '?') >= 0;
    }

    // Ansible's "all" group (and "*"), which subscripts apply to as to any group: all[0], all[1:3].
    private static bool IsAll(string name) => name == "*" || string.Equals(name, "all", StringComparison.OrdinalIgnoreCase);

    private static IReadOnlyList<AgentMachine> Index(IReadOnlyList<AgentMachine> members, int index)
    {
        if (index < 0) index += members.Count;
        return index >= 0 && index < members.Count ? [members[index]] : [];
    }

    /// <summary>
    /// Ansible's slice: both ends inclusive (<c>[1:2]</c> is the 2nd and 3rd members, <c>webservers[0:2]</c> three
    /// hosts), an open end runs to the last member, and negative bounds count from the end (<c>[-2:]</c>).
    /// </summary>
    private static IReadOnlyList<AgentMachine> Slice(IReadOnlyList<AgentMachine> members, string startText, string endText)
    {
        var count = members.Count;
        int Bound(string text, int fallback)
        {
            if (text.Length == 0) return fallback;
            var value = Parse(text);
            if (value < 0) value += count;
            return Math.Clamp(value, -1, count);
        }
        var start = Math.Max(0, Bound(startText, 0));
        var last = Math.Min(count - 1, Bound(endText, count - 1));
        return start <= last ? members.Skip(start).Take(last - start + 1).ToArray() : [];
    }

    private static int Parse(string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : text[0] == '-' ? int.MinValue / 2 : int.MaxValue / 2;

    private static ProvisioningException Invalid(string pattern, string problem) =>
        new(ErrorKind.PatternInvalid, $"The host pattern '{pattern}' is not valid: {problem}", pattern);
}
