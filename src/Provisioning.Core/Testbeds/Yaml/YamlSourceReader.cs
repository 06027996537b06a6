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
    private readonly string _text;
    private readonly IParser _parser;
    private readonly Dictionary<string, YamlSourceNode> _anchors = new(StringComparer.Ordinal);
    // Flow collections ('[' or '{') not closed yet: where to point when the parser gives up without a position.
    private readonly Stack<(Mark Start, char Opening)> _openFlows = new();

    private YamlSourceReader(string text, string file)
    {
        _file = file;
        _text = text;
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
            throw new TestbedFormatException(_file, ex.Start.Line, ex.Start.Column, null, $"invalid YAML: {ex.Message}{RangeHint(ex.Start.Line)}", ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // YamlDotNet's scanner sometimes fails this way, without a position, on an unclosed flow collection at the end.
            var (start, opening) = _openFlows.Count > 0 ? _openFlows.Peek() : (_parser.Current?.Start ?? new Mark(1, 1, 1), '\0');
            var problem = opening == '\0'
                ? "invalid YAML: the parser stopped here."
                : $"invalid YAML: the '{opening}' opened here is never closed.";
            throw new TestbedFormatException(_file, start.Line, start.Column, null, problem + RangeHint(start.Line), ex);
        }
    }

    /// <summary>
    /// In flow style (inside <c>{ }</c> or <c>[ ]</c>) a bracket ends a plain value, so an unquoted range such as
    /// <c>{ address: 10.0.0.[1-4] }</c> is a YAML error. That is easy to write and hard to see, so say it.
    /// </summary>
    private string RangeHint(long line)
    {
        var lines = _text.Split('\n');
        var text = line >= 1 && line <= lines.Length ? lines[line - 1] : "";
        var flowStyle = text.Contains('{') || System.Text.RegularExpressions.Regex.IsMatch(text, @"(^|[:,-])\s*\[");
        var rangeLike = flowStyle && System.Text.RegularExpressions.Regex.IsMatch(text, @"\w\[[0-9]");
        return rangeLike ? " Inside { } or [ ], a host range must be quoted: \"node[1-4]\"." : "";
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
            var flow = sequenceStart.Style == SequenceStyle.Flow;
            if (flow) _openFlows.Push((sequenceStart.Start, '['));
            var items = new List<YamlSourceNode>();
            while (!_parser.TryConsume<SequenceEnd>(out _)) items.Add(ReadNode());
            if (flow) _openFlows.Pop();
            node = new YamlSourceSequence(sequenceStart.Start, items);
            anchor = sequenceStart.Anchor;
        }
        else
        {
            var mappingStart = _parser.Consume<MappingStart>();
            var flow = mappingStart.Style == MappingStyle.Flow;
            if (flow) _openFlows.Push((mappingStart.Start, '{'));
            var entries = new List<KeyValuePair<YamlSourceNode, YamlSourceNode>>();
            while (!_parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode();
                entries.Add(new(key, ReadNode()));
            }
            if (flow) _openFlows.Pop();
            node = new YamlSourceMapping(mappingStart.Start, entries);
            anchor = mappingStart.Anchor;
        }

        // Registered after the node is complete, so a node can never contain an alias to itself.
        if (!anchor.IsEmpty) _anchors[anchor.Value] = node;
        return node;
    }
}
