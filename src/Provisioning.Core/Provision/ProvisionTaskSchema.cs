namespace Provisioning.Core.Provision;

/// <summary>What each task type accepts: its keys, which are required, which are lists or booleans, and the allowed states.</summary>
internal sealed record ProvisionTaskSchema(string[] Keys, string[] Required, string[] Lists, string[] Flags, string[] States, string MainKey)
{
    /// <summary>The schema of every task type.</summary>
    public static readonly IReadOnlyDictionary<ProvisionTaskType, ProvisionTaskSchema> Of = new Dictionary<ProvisionTaskType, ProvisionTaskSchema>
    {
        [ProvisionTaskType.Package] = new(["name", "state", "version", "source", "cache"], ["name"], ["name"], [], ["present", "absent", "latest"], "name"),
        [ProvisionTaskType.Directory] = new(["path", "mode", "owner", "group", "state"], ["path"], [], [], ["present", "absent"], "path"),
        [ProvisionTaskType.File] = new(["path", "content", "template", "copy", "mode", "owner", "group", "state"], ["path"], [], [], ["present", "absent"], "path"),
        [ProvisionTaskType.Line] = new(["path", "line", "regexp", "state", "create"], ["path"], [], ["create"], ["present", "absent"], "path"),
        [ProvisionTaskType.Unarchive] = new(["src", "dest", "creates"], ["src", "dest"], [], [], [], "dest"),
        [ProvisionTaskType.Service] = new(["name", "state", "enabled"], ["name"], [], ["enabled"], ["started", "stopped", "restarted"], "name"),
        [ProvisionTaskType.User] = new(["name", "uid", "groups", "shell", "home", "state"], ["name"], ["groups"], [], ["present", "absent"], "name"),
        [ProvisionTaskType.Group] = new(["name", "gid", "state"], ["name"], [], [], ["present", "absent"], "name"),
        [ProvisionTaskType.Command] = new(["run", "creates", "removes", "unless", "onlyif", "chdir"], ["run"], [], [], [], "run"),
    };

    /// <summary>The type a task key names, if it names one.</summary>
    public static ProvisionTaskType? TypeOf(string key) =>
        Enum.TryParse<ProvisionTaskType>(key, ignoreCase: false, out var t) || Enum.TryParse(key, ignoreCase: true, out t) && key == key.ToLowerInvariant()
            ? t
            : null;

    /// <summary>Every task key, lower case.</summary>
    public static IEnumerable<string> TypeNames => Of.Keys.Select(k => k.ToString().ToLowerInvariant());
}
