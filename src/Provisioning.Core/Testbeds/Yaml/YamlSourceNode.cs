using YamlDotNet.Core;

namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>
/// A YAML node that remembers where it was written, so every schema error can point at a line and column.
/// YamlDotNet's representation model would do, except that it throws on the first duplicate key without saying
/// which key path it was; our own tree keeps duplicates so the schema check can report them properly.
/// </summary>
internal abstract class YamlSourceNode
{
    protected YamlSourceNode(Mark start) => Start = start;

    /// <summary>Where the node starts (1-based line and column).</summary>
    public Mark Start { get; }

    /// <summary>What the node is, for "expected a mapping, found a list" messages.</summary>
    public abstract string KindDescription { get; }
}

/// <summary>A scalar with the information needed to type it (style and tag).</summary>
internal sealed class YamlSourceScalar : YamlSourceNode
{
    public YamlSourceScalar(Mark start, string value, ScalarStyle style, TagName tag) : base(start)
    {
        Value = value;
        Style = style;
        Tag = tag;
    }

    public string Value { get; }
    public ScalarStyle Style { get; }
    public TagName Tag { get; }

    /// <summary>A plain, untagged scalar: the only kind YAML resolves to null, bool or numbers by its text.</summary>
    public bool IsPlainUntagged => Style == ScalarStyle.Plain && Tag.IsEmpty;

    /// <summary>True for <c>~</c>, <c>null</c> or nothing at all (YAML 1.2 core schema), unless quoted or tagged.</summary>
    public bool IsNull =>
        (IsPlainUntagged && Value is "" or "~" or "null" or "Null" or "NULL")
        || (!Tag.IsEmpty && !Tag.IsNonSpecific && Tag.Value == "tag:yaml.org,2002:null");

    public override string KindDescription => IsNull ? "nothing" : $"the value '{Value}'";
}

/// <summary>A block or flow sequence.</summary>
internal sealed class YamlSourceSequence : YamlSourceNode
{
    public YamlSourceSequence(Mark start, IReadOnlyList<YamlSourceNode> items) : base(start) => Items = items;

    public IReadOnlyList<YamlSourceNode> Items { get; }

    public override string KindDescription => "a list";
}

/// <summary>A mapping whose entries keep their file order and their duplicates.</summary>
internal sealed class YamlSourceMapping : YamlSourceNode
{
    public YamlSourceMapping(Mark start, IReadOnlyList<KeyValuePair<YamlSourceNode, YamlSourceNode>> entries) : base(start) => Entries = entries;

    public IReadOnlyList<KeyValuePair<YamlSourceNode, YamlSourceNode>> Entries { get; }

    public override string KindDescription => "a mapping";
}
