using System.Collections;
using System.Reflection;

namespace Provisioning.LoaderProbe;

/// <summary>
/// Drives Provisioning.Core.Journal.RunJournal by reflection. The probe has no compile-time reference to the engine
/// (that is the point), so every call goes through the types the module's context loaded.
/// </summary>
internal sealed class ReflectedJournal : IDisposable
{
    private readonly LoadedModule _module;
    private readonly object _journal;

    private ReflectedJournal(LoadedModule module, object journal)
    {
        _module = module;
        _journal = journal;
    }

    public static ReflectedJournal Open(LoadedModule module, string path)
    {
        var type = module.CoreType("Provisioning.Core.Journal.RunJournal");
        return new ReflectedJournal(module, Call(type, null, "Open", path)!);
    }

    public ReflectedRecorder BeginRun(string cmdlet, Dictionary<string, object?> parameters, string testbed, int hostCount) =>
        new(_module, Call(_journal.GetType(), _journal, "BeginRun", cmdlet, parameters, testbed, hostCount)!);

    public IReadOnlyList<object> GetRuns(int? last = null, long? id = null) =>
        ((IEnumerable)Call(_journal.GetType(), _journal, "GetRuns", last, id)!).Cast<object>().ToList();

    public IReadOnlyList<object> GetSteps(long runId, bool failedOnly = false) =>
        ((IEnumerable)Call(_journal.GetType(), _journal, "GetSteps", runId, failedOnly)!).Cast<object>().ToList();

    public IReadOnlyList<object> GetArtifacts(long runId) =>
        ((IEnumerable)Call(_journal.GetType(), _journal, "GetArtifacts", runId)!).Cast<object>().ToList();

    public void Dispose() => ((IDisposable)_journal).Dispose();

    /// <summary>A property of an engine object.</summary>
    public static object? Get(object target, string property) =>
        (target.GetType().GetProperty(property) ?? throw new MissingMemberException(target.GetType().FullName, property)).GetValue(target);

    /// <summary>Calls a public method by name; trailing optional parameters get their defaults.</summary>
    public static object? Call(Type type, object? target, string name, params object?[] arguments)
    {
        var flags = BindingFlags.Public | (target is null ? BindingFlags.Static : BindingFlags.Instance);
        var method = type.GetMethods(flags).Single(m => m.Name == name && m.GetParameters().Length >= arguments.Length
            && m.GetParameters().Skip(arguments.Length).All(p => p.IsOptional));
        var parameters = method.GetParameters();
        var full = new object?[parameters.Length];
        for (var i = 0; i < parameters.Length; i++) full[i] = i < arguments.Length ? arguments[i] : parameters[i].DefaultValue;
        return method.Invoke(target, BindingFlags.DoNotWrapExceptions, null, full, null);
    }

    /// <summary>Creates an engine record (StepRecord, ArtifactRecord) and sets its properties.</summary>
    public static object Create(LoadedModule module, string typeName, IReadOnlyDictionary<string, object?> values)
    {
        var type = module.CoreType(typeName);
        var record = Activator.CreateInstance(type)!;
        foreach (var (name, value) in values)
            (type.GetProperty(name) ?? throw new MissingMemberException(typeName, name)).SetValue(record, value);
        return record;
    }
}

/// <summary>An IRunRecorder from the engine, driven by reflection.</summary>
internal sealed class ReflectedRecorder : IAsyncDisposable
{
    private readonly LoadedModule _module;
    private readonly object _recorder;
    private readonly Type _interface;

    public ReflectedRecorder(LoadedModule module, object recorder)
    {
        _module = module;
        _recorder = recorder;
        _interface = module.CoreType("Provisioning.Core.Journal.IRunRecorder");
    }

    public long RunId => (long)_interface.GetProperty("RunId")!.GetValue(_recorder)!;

    public void RecordStep(IReadOnlyDictionary<string, object?> values) =>
        ReflectedJournal.Call(_interface, _recorder, "RecordStep", ReflectedJournal.Create(_module, "Provisioning.Core.Journal.StepRecord", values));

    public void RecordArtifact(IReadOnlyDictionary<string, object?> values) =>
        ReflectedJournal.Call(_interface, _recorder, "RecordArtifact", ReflectedJournal.Create(_module, "Provisioning.Core.Journal.ArtifactRecord", values));

    public Task CompleteAsync(string status)
    {
        var statusType = _module.CoreType("Provisioning.Core.Journal.RunStatus");
        return (Task)ReflectedJournal.Call(_interface, _recorder, "CompleteAsync", Enum.Parse(statusType, status), CancellationToken.None)!;
    }

    public ValueTask DisposeAsync() => ((IAsyncDisposable)_recorder).DisposeAsync();
}
