using System.Text;

namespace Provisioning.Core.Journal;

/// <summary>
/// Cuts recorded stdout/stderr to a number of UTF-8 bytes, so one chatty host cannot bloat the journal.
/// The cut never splits a character.
/// </summary>
internal static class OutputCap
{
    /// <summary>Returns <paramref name="text"/> cut to at most <paramref name="capBytes"/> UTF-8 bytes.</summary>
    public static string Apply(string text, int capBytes, out bool truncated)
    {
        // A char is at most 3 UTF-8 bytes (surrogate pairs: 4 bytes for 2 chars), so short strings skip counting.
        if ((long)text.Length * 3 <= capBytes || Encoding.UTF8.GetByteCount(text) <= capBytes)
        {
            truncated = false;
            return text;
        }

        truncated = true;
        var bytes = Encoding.UTF8.GetBytes(text);
        var end = capBytes;
        // Step back off UTF-8 continuation bytes (10xxxxxx) so the last character is whole.
        while (end > 0 && (bytes[end] & 0xC0) == 0x80) end--;
        return Encoding.UTF8.GetString(bytes, 0, end);
    }
}
