namespace Provisioning.Core.Provision;

/// <summary>A provision document: variables, named steps of tasks, and handlers that changed tasks notify.</summary>
/// <param name="File">Where it was read from (a path, or <c>-Task</c> for inline tasks).</param>
/// <param name="Variables">The document's <c>vars:</c>, values as YAML gave them.</param>
/// <param name="Steps">The steps, in document order.</param>
/// <param name="Handlers">The handlers, by name.</param>
public sealed record ProvisionDocument(string File, IReadOnlyDictionary<string, object?> Variables, IReadOnlyList<ProvisionStep> Steps,
    IReadOnlyList<ProvisionTask> Handlers)
{
    /// <summary>The handler named <paramref name="name"/>, or null.</summary>
    public ProvisionTask? Handler(string name) => Handlers.FirstOrDefault(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>A named step: tasks that run together on the hosts its pattern selects, in one round trip per host.</summary>
/// <param name="Name">The step's name (<c>-Step</c> picks steps by it).</param>
/// <param name="Hosts">An Ansible host pattern, or null for every piped machine.</param>
/// <param name="Become">Run the step as root (sudo when the login is not root).</param>
/// <param name="Tasks">The tasks, in order.</param>
/// <param name="Line">The step's line in the document.</param>
public sealed record ProvisionStep(string Name, string? Hosts, bool Become, IReadOnlyList<ProvisionTask> Tasks, long Line);

/// <summary>The kinds of task, each with a check, a diff and an apply.</summary>
public enum ProvisionTaskType
{
    /// <summary>A system package (apt, dnf or apk, from the host's facts).</summary>
    Package,
    /// <summary>A directory, its mode and owner.</summary>
    Directory,
    /// <summary>A file from content, a template or a local copy.</summary>
    File,
    /// <summary>A line in a file, optionally replacing the one a regexp matches.</summary>
    Line,
    /// <summary>A local archive extracted on the host.</summary>
    Unarchive,
    /// <summary>A systemd service's state and enablement.</summary>
    Service,
    /// <summary>A local user.</summary>
    User,
    /// <summary>A local group.</summary>
    Group,
    /// <summary>A shell command, guarded by creates, removes, unless or onlyif.</summary>
    Command,
}

/// <summary>One task (or handler) of a document.</summary>
/// <param name="Type">What it manages.</param>
/// <param name="Name">Its <c>name:</c>, or a name made of its type and main argument.</param>
/// <param name="Arguments">Its arguments: strings (templates), lists of strings, or booleans.</param>
/// <param name="Notify">The handlers it notifies when it reports Changed.</param>
/// <param name="Line">Its line in the document.</param>
/// <param name="Column">Its column in the document.</param>
public sealed record ProvisionTask(ProvisionTaskType Type, string Name, IReadOnlyDictionary<string, object> Arguments, IReadOnlyList<string> Notify,
    long Line, long Column)
{
    /// <summary>A string argument, or null.</summary>
    public string? Text(string key) => Arguments.TryGetValue(key, out var v) ? v as string : null;

    /// <summary>A list argument (a single string counts as a list of one), or empty.</summary>
    public IReadOnlyList<string> List(string key) => Arguments.TryGetValue(key, out var v)
        ? v switch { string s => [s], IReadOnlyList<string> l => l, _ => [] }
        : [];

    /// <summary>A boolean argument, or null.</summary>
    public bool? Flag(string key) => Arguments.TryGetValue(key, out var v) && v is bool b ? b : null;

    /// <summary>The type's lower-case name, as the document writes it.</summary>
    public string TypeName => Type.ToString().ToLowerInvariant();

    /// <inheritdoc />
    public override string ToString() => $"{TypeName}: {Name}";
}
