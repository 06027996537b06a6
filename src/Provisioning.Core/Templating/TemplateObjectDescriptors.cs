using System.Collections;
using HandlebarsDotNet.Iterators;
using HandlebarsDotNet.MemberAccessors;
using HandlebarsDotNet.ObjectDescriptors;
using HandlebarsDotNet.PathStructure;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Templating;

/// <summary>
/// Teaches Handlebars two things: an <see cref="AgentMachine"/> value exposes its variables and built-ins
/// (<c>{{ server.address }}</c>, <c>{{ server.myvar }}</c>), and dictionary keys are found without regard to case
/// (PowerShell hashtables, YAML mappings, plain Dictionary objects alike), as PowerShell users expect.
/// Handlebars asks the providers registered last first, so these win over its built-in ones.
/// </summary>
internal sealed class TemplateObjectDescriptors : IObjectDescriptorProvider
{
    private static readonly DictionaryObjectDescriptor BuiltInDictionaries = new();

    /// <inheritdoc />
    public bool TryGetDescriptor(Type type, out ObjectDescriptor value)
    {
        if (type == typeof(AgentMachine))
        {
            value = new ObjectDescriptor(
                type,
                new MachineAccessor(),
                (_, machine) => TemplateScope.MemberNames((AgentMachine)machine).Select(ChainSegment.Create).ToArray(),
                self => new ObjectIterator(self));
            return true;
        }
        if (typeof(IDictionary).IsAssignableFrom(type) && BuiltInDictionaries.TryGetDescriptor(type, out var dictionary))
        {
            // Keep Handlebars' own enumeration ({{#each}}), replace only the key lookup.
            value = new ObjectDescriptor(type, new CaseInsensitiveDictionaryAccessor(), dictionary.GetProperties, _ => dictionary.Iterator!, dictionary.Dependencies);
            return true;
        }
        value = ObjectDescriptor.Empty;
        return false;
    }

    private sealed class MachineAccessor : IMemberAccessor
    {
        public bool TryGetValue(object instance, ChainSegment memberName, out object? value) =>
            TemplateScope.TryGetMember((AgentMachine)instance, memberName.TrimmedValue, out value);
    }

    /// <summary>Exact key first (the fast, common case), then a case-insensitive scan of string keys.</summary>
    internal sealed class CaseInsensitiveDictionaryAccessor : IMemberAccessor
    {
        public bool TryGetValue(object instance, ChainSegment memberName, out object? value) =>
            TryGet((IDictionary)instance, memberName.TrimmedValue, out value);

        public static bool TryGet(IDictionary dictionary, string key, out object? value)
        {
            if (dictionary.Contains(key))
            {
                value = dictionary[key];
                return true;
            }
            foreach (DictionaryEntry entry in dictionary)
            {
                if (entry.Key is string candidate && string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase))
                {
                    value = entry.Value;
                    return true;
                }
            }
            value = null;
            return false;
        }
    }
}
