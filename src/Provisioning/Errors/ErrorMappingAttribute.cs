using System.Management.Automation;
using Provisioning.Core.Errors;

namespace Provisioning.Errors;

/// <summary>
/// One row of the error table: the PowerShell error id and category of an engine <see cref="ErrorKind"/>.
/// Kept as attributes on <see cref="ErrorRecordFactory"/> so the table is the code, and a test can read it by
/// reflection without running PowerShell.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
internal sealed class ErrorMappingAttribute : Attribute
{
    /// <summary>Maps <paramref name="kind"/> to <paramref name="errorId"/> and <paramref name="category"/>.</summary>
    public ErrorMappingAttribute(ErrorKind kind, string errorId, ErrorCategory category)
    {
        Kind = kind;
        ErrorId = errorId;
        Category = category;
    }

    /// <summary>The engine's kind of error.</summary>
    public ErrorKind Kind { get; }

    /// <summary>The FullyQualifiedErrorId prefix, <c>&lt;Noun&gt;&lt;Condition&gt;</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The PowerShell category.</summary>
    public ErrorCategory Category { get; }

    /// <summary>What the user can do about it, shown with the error; null when there is nothing general to say.</summary>
    public string? RecommendedAction { get; set; }
}
