namespace Provisioning.Benchmarks;

/// <summary>A run finished but did not do all its work (fewer than N hosts answered, a file is missing or wrong).</summary>
internal sealed class VerificationException(string message) : Exception(message);
