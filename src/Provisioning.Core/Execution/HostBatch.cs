using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Execution;

/// <summary>
/// Every result one host produced for one operation (one per file for transfers), streamed together when it finishes;
/// or, for an operation that streams (following a log), results sent while the host still works.
/// </summary>
/// <typeparam name="TResult">The operation's result type.</typeparam>
/// <param name="Machine">The host.</param>
/// <param name="Results">Its results (none: the host had nothing to report).</param>
/// <param name="Final">True for the batch that ends the host's part (progress counts these); false for a partial one.</param>
public sealed record HostBatch<TResult>(AgentMachine Machine, IReadOnlyList<TResult> Results, bool Final = true) where TResult : IHostOutcome;
