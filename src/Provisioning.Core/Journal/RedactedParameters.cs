using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Provisioning.Core.Journal;

/// <summary>
/// Turns a cmdlet's bound parameters into the JSON kept on a run row, with secrets replaced by
/// <see cref="SecretNames.Placeholder"/>. A value is a secret when its key (at any depth, so <c>-Variable @{ api_token = .. }</c>
/// counts) is one by <see cref="SecretNames"/>, or when it is a <see cref="System.Security.SecureString"/>.
/// </summary>
/// <remarks>
/// Values come from PowerShell and can be anything (PSObjects, machines that point back at their testbed), so this
/// never asks System.Text.Json to reflect over them: it walks dictionaries and sequences itself, keeps scalars, and
/// falls back to <see cref="object.ToString"/>. That cannot loop on object cycles and cannot throw on odd types.
/// </remarks>
internal static class RedactedParameters
{
    private const string Placeholder = SecretNames.Placeholder;

    private const int MaxDepth = 8;
    private const int MaxItems = 1000;

    private static bool IsSecretKey(string key) => SecretNames.IsSecret(key);

    /// <summary>Serialises <paramref name="parameters"/> as a JSON object, secrets redacted.</summary>
    public static string ToJson(IReadOnlyDictionary<string, object?>? parameters)
    {
        if (parameters is null || parameters.Count == 0) return "{}";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in parameters)
            {
                writer.WritePropertyName(key);
                if (IsSecretKey(key)) writer.WriteStringValue(Placeholder);
                else WriteValue(writer, value, 1);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value, int depth)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                return;
            case string s:
                writer.WriteStringValue(s);
                return;
            case bool b:
                writer.WriteBooleanValue(b);
                return;
            case System.Security.SecureString:
                writer.WriteStringValue(Placeholder);
                return;
            case Enum e:
                writer.WriteStringValue(e.ToString());
                return;
            case byte or sbyte or short or ushort or int or uint or long:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                return;
            case ulong u:
                writer.WriteNumberValue(u);
                return;
            case float or double:
                var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(d)) writer.WriteNumberValue(d);
                else writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                return;
            case decimal m:
                writer.WriteNumberValue(m);
                return;
            case DateTime dt:
                writer.WriteStringValue(dt.ToString("O", CultureInfo.InvariantCulture));
                return;
            case DateTimeOffset dto:
                writer.WriteStringValue(dto.ToString("O", CultureInfo.InvariantCulture));
                return;
            case TimeSpan ts:
                writer.WriteStringValue(ts.ToString("c", CultureInfo.InvariantCulture));
                return;
            case Guid g:
                writer.WriteStringValue(g.ToString());
                return;
            case char c:
                writer.WriteStringValue(c.ToString());
                return;
        }

        if (depth >= MaxDepth)
        {
            writer.WriteStringValue(SafeToString(value));
            return;
        }

        if (value is IDictionary dictionary)
        {
            writer.WriteStartObject();
            var count = 0;
            foreach (DictionaryEntry entry in dictionary)
            {
                if (++count > MaxItems) break;
                var key = SafeToString(entry.Key);
                writer.WritePropertyName(key);
                if (IsSecretKey(key)) writer.WriteStringValue(Placeholder);
                else WriteValue(writer, entry.Value, depth + 1);
            }
            writer.WriteEndObject();
            return;
        }

        if (TryWriteGenericDictionary(writer, value, depth)) return;

        if (value is IEnumerable sequence)
        {
            writer.WriteStartArray();
            var count = 0;
            foreach (var item in sequence)
            {
                if (++count > MaxItems)
                {
                    writer.WriteStringValue("...");
                    break;
                }
                WriteValue(writer, item, depth + 1);
            }
            writer.WriteEndArray();
            return;
        }

        // Machines, PSObjects, switches, script blocks: their string form is what a reader of the journal wants
        // (a machine's ToString is its name), and it never drags a whole object graph along.
        writer.WriteStringValue(SafeToString(value));
    }

    // Generic read-only dictionaries that are not IDictionary (rare: most implement both).
    private static bool TryWriteGenericDictionary(Utf8JsonWriter writer, object value, int depth)
    {
        if (value is not IEnumerable<KeyValuePair<string, object?>> pairs) return false;
        writer.WriteStartObject();
        var count = 0;
        foreach (var (key, item) in pairs)
        {
            if (++count > MaxItems) break;
            writer.WritePropertyName(key);
            if (IsSecretKey(key)) writer.WriteStringValue(Placeholder);
            else WriteValue(writer, item, depth + 1);
        }
        writer.WriteEndObject();
        return true;
    }

    private static string SafeToString(object? value)
    {
        if (value is null) return "";
        try
        {
            return value.ToString() ?? "";
        }
        catch (Exception)
        {
            // A ToString that throws must not lose the run row; the type name is still informative.
            return value.GetType().FullName ?? "?";
        }
    }
}
