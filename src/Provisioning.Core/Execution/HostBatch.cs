using Provisioning.Core.Testbeds;

namespace Provisioning.Core.Execution;

/// <summary>Every result one host produced for one operation (one per file for transfers), streamed together when it finishes.</summary>
/// <typeparam name="TResult">The operation's result type.</typeparam>
/// <param name="Machine">The host.</param>
/// <param name="Results">Its results, at least one.</param>
public sealed record HostBatch<TResult>(AgentMachine Machine, IReadOnlyList<TResult> Results) where TResult : IHostOutcome;
