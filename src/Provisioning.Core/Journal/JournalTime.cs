using System.Globalization;

namespace Provisioning.Core.Journal;

/// <summary>How times are stored: ISO 8601 round-trip text with the offset, readable in the sqlite3 CLI.</summary>
internal static class JournalTime
{
    /// <summary>Formats a time for the journal.</summary>
    public static string Format(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Parses a time written by <see cref="Format"/>.</summary>
    public static DateTimeOffset Parse(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
