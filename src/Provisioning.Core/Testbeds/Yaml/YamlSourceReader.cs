using Provisioning.Core.Errors;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Provisioning.Core.Testbeds.Yaml;

/// <summary>
/// Reads one YAML document into <see cref="YamlSourceNode"/>s from YamlDotNet's parser events, resolving
/// anchors and aliases. Every YAML error becomes a <see cref="TestbedFormatException"/> at its position.
/// </summary>
internal sealed class YamlSourceReader
{
    private readonly string _file;
    private readonly IParser _parser;
    private readonly Dictionary<string, YamlSourceNode> _anchors = new(StringComparer.Ordinal);

    private YamlSourceReader(string text, string file)
    {
        _file = file;
        _parser = new Parser(new StringReader(text));
    }

    /// <summary>The root node of the only document in <paramref name="text"/>, or null when the text holds no document.</summary>
    public static YamlSourceNode? ReadSingleDocument(string text, string file) => new YamlSourceReader(text, file).ReadStream();

    private YamlSourceNode? ReadStream()
    {
        try
        {
            _parser.Consume<StreamStart>();
            if (_parser.TryConsume<StreamEnd>(out _)) return null;
            _parser.Consume<DocumentStart>();
            var root = ReadNode();
            _parser.Consume<DocumentEnd>();
            if (_parser.Accept<DocumentStart>(out var second))
            {
                throw new TestbedFormatException(_file, second.Start.Line, second.Start.Column, null,
                    "the file holds more than one YAML document ('---'); a testbed file holds exactly one.");
            }
            _parser.Consume<StreamEnd>();
            return root;
        }
        catch (YamlException ex)
        {
            throw new TestbedFormatException(_file, ex.Start.Line, ex.Start.Column, null, $"invalid YAML: {ex.Message}", ex);
        }
    }

    private YamlSourceNode ReadNode()
    {
        if (_parser.TryConsume<AnchorAlias>(out var alias))
        {
            return _anchors.TryGetValue(alias.Value.Value, out var target)
                ? target
                : throw new TestbedFormatException(_file, alias.Start.Line, alias.Start.Column, null,
                    $"invalid YAML: the alias '*{alias.Value.Value}' refers to no anchor defined before it.");
        }

        YamlSourceNode node;
        AnchorName anchor;
        if (_parser.TryConsume<Scalar>(out var scalar))
        {
            node = new YamlSourceScalar(scalar.Start, scalar.Value, scalar.Style, scalar.Tag);
            anchor = scalar.Anchor;
        }
        else if (_parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var items = new List<YamlSourceNode>();
            while (!_parser.TryConsume<SequenceEnd>(out _)) items.Add(ReadNode());
            node = new YamlSourceSequence(sequenceStart.Start, items);
            anchor = sequenceStart.Anchor;
        }
        else
        {
            var mappingStart = _parser.Consume<MappingStart>();
            var entries = new List<KeyValuePair<YamlSourceNode, YamlSourceNode>>();
            while (!_parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode();
                entries.Add(new(key, ReadNode()));
            }
            node = new YamlSourceMapping(mappingStart.Start, entries);
            anchor = mappingStart.Anchor;
        }

        // Registered after the node is complete, so a node can never contain an alias to itself.
        if (!anchor.IsEmpty) _anchors[anchor.Value] = node;
        return node;
    }
}
