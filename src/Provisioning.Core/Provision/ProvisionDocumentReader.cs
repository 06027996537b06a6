using System.Text.RegularExpressions;
using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds.Yaml;

namespace Provisioning.Core.Provision;

/// <summary>
/// Reads a provision document with the care testbed files get: every key is checked against its task type, and every
/// problem is a <see cref="TestbedFormatException"/> of kind <see cref="ErrorKind.ProvisionFormat"/> at the node's
/// line and column, with its key path (<c>steps.base.tasks[2].file.mode</c>), before anything runs.
/// </summary>
public static partial class ProvisionDocumentReader
{
    private static readonly string[] TopKeys = ["vars", "steps", "handlers"];
    private static readonly string[] StepKeys = ["name", "hosts", "become", "tasks"];
    private static readonly string[] TaskExtraKeys = ["name", "notify"];

    [GeneratedRegex("^0?[0-7]{3,4}$", RegexOptions.CultureInvariant)]
    private static partial Regex OctalMode();

    /// <summary>Reads the document at <paramref name="path"/>; relative local files in it resolve against its folder.</summary>
    /// <exception cref="ProvisioningException">The file is missing (LocalPathNotFound) or invalid (ProvisionFormat).</exception>
    public static ProvisionDocument ReadFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!System.IO.File.Exists(full)) throw new ProvisioningException(ErrorKind.LocalPathNotFound, $"The provision document '{path}' does not exist.", path);
        return Read(System.IO.File.ReadAllText(full), full, Path.GetDirectoryName(full)!);
    }

    /// <summary>
    /// A one-step document (<c>inline</c>) from tables such as <c>@{ package = @{ name = 'iperf3' } }</c> (-Task): they
    /// are written as YAML and read as a document would be, so they get the same checks and messages.
    /// </summary>
    public static ProvisionDocument FromTasks(IEnumerable<object?> tasks, string baseDirectory)
    {
        var document = new Dictionary<string, object?> { ["steps"] = new List<object?> { new Dictionary<string, object?> { ["name"] = "inline", ["tasks"] = tasks.ToList() } } };
        var yaml = new YamlDotNet.Serialization.SerializerBuilder().Build().Serialize(document);
        return Read(yaml, "-Task", baseDirectory);
    }

    /// <summary>Reads a document from <paramref name="yaml"/>, reporting errors against <paramref name="file"/>.</summary>
    public static ProvisionDocument Read(string yaml, string file, string baseDirectory)
    {
        YamlSourceNode? root;
        try
        {
            root = YamlSourceReader.ReadSingleDocument(yaml, file);
        }
        catch (TestbedFormatException ex)
        {
            throw new TestbedFormatException(ErrorKind.ProvisionFormat, file, ex.Line, ex.Column, ex.Key, ex.Problem, ex);
        }
        return new Reader(file, baseDirectory).Document(root);
    }

    private sealed class Reader(string file, string baseDirectory)
    {
        public ProvisionDocument Document(YamlSourceNode? root)
        {
            if (root is null || root is YamlSourceScalar { IsNull: true })
                throw Fail(root, null, "the document is empty; it needs a 'steps:' list.");
            if (root is not YamlSourceMapping mapping)
                throw Fail(root, null, $"a provision document is a mapping (vars:, steps:, handlers:), not {root.KindDescription}.");
            var top = Entries(mapping, "", TopKeys);
            IReadOnlyDictionary<string, object?> vars = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            if (top.TryGetValue("vars", out var v) && v.Value is not YamlSourceScalar { IsNull: true })
            {
                if (v.Value is not YamlSourceMapping varsMapping) throw Fail(v.Value, "vars", $"expected a mapping of variables, not {v.Value.KindDescription}.");
                try
                {
                    vars = YamlValueConverter.ToDictionary(varsMapping, "vars", file);
                }
                catch (TestbedFormatException ex)
                {
                    throw new TestbedFormatException(ErrorKind.ProvisionFormat, file, ex.Line, ex.Column, ex.Key, ex.Problem, ex);
                }
            }
            var handlers = new List<ProvisionTask>();
            if (top.TryGetValue("handlers", out var h))
            {
                var items = Sequence(h.Value, "handlers");
                for (var i = 0; i < items.Count; i++)
                {
                    var handler = Task(items[i], $"handlers[{i}]", handler: true);
                    if (handlers.Any(x => string.Equals(x.Name, handler.Name, StringComparison.OrdinalIgnoreCase)))
                        throw Fail(items[i], $"handlers[{i}].name", $"duplicate handler '{handler.Name}'.");
                    handlers.Add(handler);
                }
            }
            if (!top.TryGetValue("steps", out var s)) throw Fail(mapping, "steps", "the document has no 'steps:' list.");
            var steps = new List<ProvisionStep>();
            var stepItems = Sequence(s.Value, "steps");
            if (stepItems.Count == 0) throw Fail(s.Value, "steps", "'steps:' is empty.");
            for (var i = 0; i < stepItems.Count; i++)
            {
                var step = Step(stepItems[i], $"steps[{i}]");
                if (steps.Any(x => string.Equals(x.Name, step.Name, StringComparison.OrdinalIgnoreCase)))
                    throw Fail(stepItems[i], $"steps[{i}].name", $"duplicate step name '{step.Name}'.");
                steps.Add(step);
            }
            foreach (var task in steps.SelectMany(x => x.Tasks))
            {
                foreach (var name in task.Notify.Where(n => handlers.All(x => !string.Equals(x.Name, n, StringComparison.OrdinalIgnoreCase))))
                {
                    throw new TestbedFormatException(ErrorKind.ProvisionFormat, file, task.Line, task.Column, "notify",
                        $"task '{task.Name}' notifies '{name}', which is not a handler{SpellingSuggestion.Hint(name, handlers.Select(x => x.Name))}.");
                }
            }
            return new ProvisionDocument(file, vars, steps, handlers);
        }

        private ProvisionStep Step(YamlSourceNode node, string path)
        {
            if (node is not YamlSourceMapping mapping) throw Fail(node, path, $"a step is a mapping (name:, hosts:, become:, tasks:), not {node.KindDescription}.");
            var keys = Entries(mapping, path, StepKeys);
            if (!keys.TryGetValue("name", out var n)) throw Fail(mapping, $"{path}.name", "the step has no 'name:'.");
            var name = Scalar(n.Value, $"{path}.name");
            if (name.Length == 0 || name.Any(c => char.IsWhiteSpace(c) || c == ',')) throw Fail(n.Value, $"{path}.name", $"'{name}' is not a step name (no spaces or commas).");
            var stepPath = $"steps.{name}";
            var hosts = keys.TryGetValue("hosts", out var hn) ? Scalar(hn.Value, $"{stepPath}.hosts") : null;
            var become = keys.TryGetValue("become", out var b) && Bool(b.Value, $"{stepPath}.become");
            if (!keys.TryGetValue("tasks", out var t)) throw Fail(mapping, $"{stepPath}.tasks", "the step has no 'tasks:' list.");
            var items = Sequence(t.Value, $"{stepPath}.tasks");
            if (items.Count == 0) throw Fail(t.Value, $"{stepPath}.tasks", "'tasks:' is empty.");
            var tasks = items.Select((item, i) => Task(item, $"{stepPath}.tasks[{i}]", handler: false)).ToList();
            return new ProvisionStep(name, hosts, become, tasks, mapping.Start.Line);
        }

        private ProvisionTask Task(YamlSourceNode node, string path, bool handler)
        {
            if (node is not YamlSourceMapping mapping)
                throw Fail(node, path, $"a task is a mapping with one of {string.Join(", ", ProvisionTaskSchema.TypeNames)}, not {node.KindDescription}.");
            var allowed = ProvisionTaskSchema.TypeNames.Concat(handler ? ["name"] : TaskExtraKeys).ToArray();
            var keys = Entries(mapping, path, allowed);
            var types = keys.Keys.Where(k => ProvisionTaskSchema.TypeOf(k) is not null).ToList();
            if (types.Count == 0) throw Fail(mapping, path, $"the task says what it manages with one of {string.Join(", ", ProvisionTaskSchema.TypeNames)}.");
            if (types.Count > 1) throw Fail(keys[types[1]].Key, $"{path}.{types[1]}", $"a task has one type; this one has {string.Join(" and ", types)}.");
            var type = ProvisionTaskSchema.TypeOf(types[0])!.Value;
            var schema = ProvisionTaskSchema.Of[type];
            var typePath = $"{path}.{types[0]}";
            var body = keys[types[0]].Value;
            var args = new Dictionary<string, object>(StringComparer.Ordinal);
            if (body is YamlSourceScalar { IsNull: false } shorthand && type == ProvisionTaskType.Command)
                args["run"] = shorthand.Value; // command: "make install"
            else if (body is YamlSourceMapping argsMapping)
            {
                foreach (var (key, (keyNode, value)) in Entries(argsMapping, typePath, schema.Keys))
                {
                    var argPath = $"{typePath}.{key}";
                    args[key] = schema.Flags.Contains(key) ? Bool(value, argPath)
                        : schema.Lists.Contains(key) && value is YamlSourceSequence seq ? seq.Items.Select((x, i) => Scalar(x, $"{argPath}[{i}]")).ToList()
                        : Scalar(value, argPath);
                    _ = keyNode;
                }
            }
            else throw Fail(body, typePath, $"expected the {types[0]} task's settings ({string.Join(", ", schema.Keys)}), not {body.KindDescription}.");
            foreach (var required in schema.Required.Where(r => !args.ContainsKey(r)))
            {
                if (type == ProvisionTaskType.Line && required == "line") continue;
                throw Fail(body, $"{typePath}.{required}", $"the {types[0]} task needs '{required}'.");
            }
            Check(type, args, body, typePath, schema);
            var name = keys.TryGetValue("name", out var n) ? Scalar(n.Value, $"{path}.name") : Describe(args[schema.MainKey]);
            var notify = keys.TryGetValue("notify", out var no)
                ? no.Value is YamlSourceSequence ns ? ns.Items.Select((x, i) => Scalar(x, $"{path}.notify[{i}]")).ToList() : [Scalar(no.Value, $"{path}.notify")]
                : new List<string>();
            return new ProvisionTask(type, name, args, notify, mapping.Start.Line, mapping.Start.Column);
        }

        private static string Describe(object value) => value switch
        {
            string s => s.Length > 60 ? s[..57] + "..." : s,
            IReadOnlyList<string> l => string.Join(",", l),
            _ => value.ToString() ?? "",
        };

        private void Check(ProvisionTaskType type, Dictionary<string, object> args, YamlSourceNode body, string path, ProvisionTaskSchema schema)
        {
            if (args.TryGetValue("state", out var st) && !schema.States.Contains(st as string))
                throw Fail(body, $"{path}.state", $"'{st}' is not a state of {type.ToString().ToLowerInvariant()} ({string.Join(", ", schema.States)}).");
            if (args.TryGetValue("mode", out var mode) && mode is string m && !m.Contains("{{", StringComparison.Ordinal) && !OctalMode().IsMatch(m))
                throw Fail(body, $"{path}.mode", $"'{m}' is not an octal mode such as \"0644\" (quote it, or YAML reads 0644 as a number).");
            var absent = st as string == "absent";
            switch (type)
            {
                case ProvisionTaskType.File:
                    var sources = new[] { "content", "template", "copy" }.Where(args.ContainsKey).ToList();
                    if (!absent && sources.Count != 1)
                        throw Fail(body, path, sources.Count == 0 ? "the file task needs one of content, template or copy (or state: absent)." : $"the file task takes one of content, template or copy, not {string.Join(" and ", sources)}.");
                    foreach (var local in new[] { "template", "copy" }.Where(args.ContainsKey))
                    {
                        var full = Path.GetFullPath(Path.Combine(baseDirectory, (string)args[local]));
                        if (!System.IO.File.Exists(full) && !(local == "copy" && System.IO.Directory.Exists(full)))
                            throw Fail(body, $"{path}.{local}", $"the local {(local == "copy" ? "file or folder" : "file")} '{args[local]}' does not exist (looked for {full}).");
                        args[local] = full;
                    }
                    break;
                case ProvisionTaskType.Unarchive:
                    var src = Path.GetFullPath(Path.Combine(baseDirectory, (string)args["src"]));
                    if (!System.IO.File.Exists(src)) throw Fail(body, $"{path}.src", $"the local archive '{args["src"]}' does not exist (looked for {src}).");
                    args["src"] = src;
                    break;
                case ProvisionTaskType.Line:
                    if (!absent && !args.ContainsKey("line")) throw Fail(body, $"{path}.line", "the line task needs 'line' (or state: absent with a regexp).");
                    if (absent && !args.ContainsKey("line") && !args.ContainsKey("regexp")) throw Fail(body, path, "state: absent needs 'line' or 'regexp'.");
                    break;
                case ProvisionTaskType.Package:
                    if (args.TryGetValue("version", out _) && args["name"] is List<string> { Count: > 1 })
                        throw Fail(body, $"{path}.version", "'version' applies to one package; write name=version per package instead.");
                    if (args.TryGetValue("source", out var source) && source is not ("agent" or "controller" or "auto"))
                        throw Fail(body, $"{path}.source", $"'{source}' is not a package source (agent, controller, auto).");
                    if (args.TryGetValue("cache", out var cache) && cache is string c && !c.Contains("{{", StringComparison.Ordinal))
                        args["cache"] = Path.GetFullPath(Path.Combine(baseDirectory, c));
                    break;
            }
        }

        private Dictionary<string, (YamlSourceScalar Key, YamlSourceNode Value)> Entries(YamlSourceMapping mapping, string path, string[] allowed) =>
            YamlMappingKeys.Read(mapping, path, allowed, Fail);

        private IReadOnlyList<YamlSourceNode> Sequence(YamlSourceNode node, string path) => node switch
        {
            YamlSourceSequence s => s.Items,
            YamlSourceScalar { IsNull: true } => [],
            _ => throw Fail(node, path, $"expected a list, not {node.KindDescription}."),
        };

        private string Scalar(YamlSourceNode node, string path) => node is YamlSourceScalar { IsNull: false } s
            ? s.Value
            : throw Fail(node, path, $"expected a value, not {node.KindDescription}.");

        private bool Bool(YamlSourceNode node, string path) => node is YamlSourceScalar s && YamlValueConverter.ParseBool(s.Value) is { } b
            ? b
            : throw Fail(node, path, $"expected true or false, not {node.KindDescription}.");

        private TestbedFormatException Fail(YamlSourceNode? node, string? key, string problem) =>
            new(ErrorKind.ProvisionFormat, file, node?.Start.Line ?? 1, node?.Start.Column ?? 1, key, problem);
    }
}
