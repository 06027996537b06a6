namespace Provisioning.Core.Journal;

/// <summary>The kinds of step the journal records (<see cref="StepRecord.Step"/>), one constant per capability.</summary>
public static class StepKinds
{
    /// <summary>A command run with Invoke-RemoteCommand.</summary>
    public const string Command = "command";
    /// <summary>A local script sent with Invoke-RemoteCommand -ScriptPath.</summary>
    public const string Script = "script";
    /// <summary>A file pushed with Send-AgentFile.</summary>
    public const string Send = "send";
    /// <summary>A file brought home with Get-ExperimentResult.</summary>
    public const string Fetch = "fetch";
    /// <summary>An experiment process started with Start-AgentProcess.</summary>
    public const string ProcessStart = "process-start";
    /// <summary>An experiment process stopped with Stop-AgentProcess.</summary>
    public const string ProcessStop = "process-stop";
    /// <summary>The state of an experiment process as Get- or Wait-AgentProcess saw it.</summary>
    public const string ProcessState = "process-state";

    /// <summary>One provisioning task on a host (Invoke-Provision).</summary>
    public const string Provision = "provision";

    /// <summary>One package on a host (Install-, Uninstall- or Save-AgentPackage).</summary>
    public const string Package = "package";
}
