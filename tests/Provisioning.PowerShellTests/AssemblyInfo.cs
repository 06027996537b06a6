// The module keeps its testbeds in process-wide state (one PowerShell session per process in pwsh), so two Pester
// runs in this test host must never overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
