using Provisioning.Core.Execution;

namespace Provisioning.Core.Provision;

/// <summary>What a task found or did on a host.</summary>
public enum ProvisionTaskStatus
{
    /// <summary>Already as the task wants it; nothing changed.</summary>
    Ok,
    /// <summary>The task changed the host (or, in check mode, would change it).</summary>
    Changed,
    /// <summary>The task failed; the rest of the host's step was skipped.</summary>
    Failed,
    /// <summary>Not run: an earlier task of the step failed, or the host cannot run it (no systemd).</summary>
    Skipped,
}

/// <summary>What Invoke-Provision writes: a <see cref="ProvisionResult"/> per task, then a <see cref="ProvisionSummary"/> per host.</summary>
/// <remarks>The Display* members give both kinds the same four columns, so one table shows the tasks and the recap
/// lines together (PowerShell lists an object whose type has a table of its own apart from the table in progress).</remarks>
public abstract record ProvisionRecord : HostOutcome
{
    /// <summary>The step, or <c>RECAP</c> for a host's summary.</summary>
    public abstract string DisplayStep { get; }
    /// <summary>The task, or the summary's counts.</summary>
    public abstract string DisplayTask { get; }
    /// <summary>The task's status, or the host's worst.</summary>
    public abstract string DisplayStatus { get; }
    /// <summary>The task's message, or the steps that failed.</summary>
    public abstract string DisplayMessage { get; }
}

/// <summary>One task on one host.</summary>
public sealed record ProvisionResult : ProvisionRecord
{
    /// <summary>The step's name (<c>handlers</c> for a handler).</summary>
    public required string Step { get; init; }
    /// <summary>The task's type and name, as <c>file: /etc/app.conf</c>.</summary>
    public required string Task { get; init; }
    /// <summary>The task's type.</summary>
    public required ProvisionTaskType TaskType { get; init; }
    /// <summary>Ok, Changed, Failed or Skipped.</summary>
    public required ProvisionTaskStatus TaskStatus { get; init; }
    /// <summary>What changed or would change (a unified diff for files and lines), or null.</summary>
    public string? Diff { get; init; }
    /// <summary>What the task found or did, or why it failed or was skipped.</summary>
    public string Message { get; init; } = "";
    /// <summary>The task's line in the document.</summary>
    public long Line { get; init; }
    /// <summary>True when the result comes from check mode (-WhatIf): nothing was changed.</summary>
    public bool CheckMode { get; init; }
    /// <summary>True when the task changed the host, or would have in check mode.</summary>
    public bool Changed => TaskStatus == ProvisionTaskStatus.Changed;

    /// <inheritdoc />
    public override string DisplayStep => Step;
    /// <inheritdoc />
    public override string DisplayTask => Task;
    /// <inheritdoc />
    public override string DisplayStatus => TaskStatus.ToString();
    /// <inheritdoc />
    public override string DisplayMessage => Message;

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name} [{Step}] {Task}: {TaskStatus}";
}

/// <summary>A host's recap, as Ansible's: how many tasks were ok, changed, failed and skipped.</summary>
public sealed record ProvisionSummary : ProvisionRecord
{
    /// <summary>Tasks already as wanted.</summary>
    public int Ok { get; init; }
    /// <summary>Tasks that changed the host.</summary>
    public int Changed { get; init; }
    /// <summary>Tasks that failed.</summary>
    public int Failed { get; init; }
    /// <summary>Tasks not run.</summary>
    public int Skipped { get; init; }
    /// <summary>The steps that ran on the host, in order.</summary>
    public IReadOnlyList<string> Steps { get; init; } = [];
    /// <summary>The steps that failed on the host.</summary>
    public IReadOnlyList<string> FailedSteps { get; init; } = [];
    /// <summary>True when the recap comes from check mode.</summary>
    public bool CheckMode { get; init; }

    /// <inheritdoc />
    public override string DisplayStep => "RECAP";
    /// <inheritdoc />
    public override string DisplayTask => $"ok={Ok} changed={Changed} failed={Failed} skipped={Skipped}";
    /// <inheritdoc />
    public override string DisplayStatus => Failed > 0 || Error is not null ? nameof(ProvisionTaskStatus.Failed) : Changed > 0 ? nameof(ProvisionTaskStatus.Changed) : nameof(ProvisionTaskStatus.Ok);
    /// <inheritdoc />
    public override string DisplayMessage => Error?.Message ?? (FailedSteps.Count > 0 ? "failed steps: " + string.Join(", ", FailedSteps) : "");

    /// <inheritdoc />
    public override string ToString() => $"{Machine.Name}: ok={Ok} changed={Changed} failed={Failed} skipped={Skipped}";
}
