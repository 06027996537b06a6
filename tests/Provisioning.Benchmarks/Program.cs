using Provisioning.Benchmarks;

// Entry point: everything lives in BenchmarkApp so the pieces stay testable and named.
return await BenchmarkApp.RunAsync(args);
