using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.RemoteCommands;

/// <summary>A command rendered for one host, for -WhatIf and for the plan.</summary>
/// <param name="Machine">The host.</param>
/// <param name="Command">Rendered text, or null when rendering failed.</param>
/// <param name="Error">Why rendering failed.</param>
public sealed record PlannedCommand(AgentMachine Machine, string? Command, HostError? Error);
