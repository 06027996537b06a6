using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Execution;

/// <summary>What an operation would do on one host, for -WhatIf and -Confirm; nothing is contacted to make it.</summary>
/// <param name="Machine">The host.</param>
/// <param name="Action">A sentence saying what would be done there (rendered for this host).</param>
/// <param name="Error">Why this host cannot be planned (the operation still runs it and reports the error).</param>
public sealed record HostPlan(AgentMachine Machine, string Action, HostError? Error = null);
