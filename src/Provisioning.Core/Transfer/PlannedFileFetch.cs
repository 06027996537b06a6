using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transfer;

/// <summary>What a fetch would do on one host, for -WhatIf (nothing is contacted to make it).</summary>
/// <param name="Machine">The host.</param>
/// <param name="RemotePath">The rendered remote path or glob; null when rendering failed.</param>
/// <param name="LocalFolder">The host's own folder under the destination; null when the host cannot have one.</param>
/// <param name="Error">Why this host cannot be fetched from.</param>
public sealed record PlannedFileFetch(AgentMachine Machine, string? RemotePath, string? LocalFolder, HostError? Error);
