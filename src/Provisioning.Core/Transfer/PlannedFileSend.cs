using Provisioning.Core.Errors;
using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Transfer;

/// <summary>A file a send would write on one host, for -WhatIf (nothing is contacted to make it).</summary>
/// <param name="Machine">The host.</param>
/// <param name="Source">The local file.</param>
/// <param name="Destination">The rendered remote path (for a single file whose destination turns out to be a
/// directory on the host, the file goes inside it); null when rendering failed.</param>
/// <param name="Error">Why this host cannot be planned.</param>
public sealed record PlannedFileSend(AgentMachine Machine, string Source, string? Destination, HostError? Error);
