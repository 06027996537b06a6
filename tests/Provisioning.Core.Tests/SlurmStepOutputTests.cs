using System.Text;
using Provisioning.Core.Errors;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Tests;

/// <summary>Splitting one labelled Slurm step's output back into per-node results, exactly.</summary>
public sealed class SlurmStepOutputTests
{
    private const string Token = "__PROVISIONING_STEP_0123456789ABCDEF";

    private static SlurmTransport.StepRun Run(SlurmStepOutput output, ExecutionOutcome? stopped = null) =>
        new(output, stopped, 0, DateTimeOffset.Now, TimeSpan.FromMilliseconds(50), "42");

    private static async Task<SlurmStepOutput> ParseAsync(string stdout, string stderr, int limit = 1 << 20)
    {
        var output = new SlurmStepOutput(Token, limit);
        await output.ReadLabelledAsync(new MemoryStream(Encoding.UTF8.GetBytes(stdout)), SlurmStepOutput.Stream.Stdout);
        await output.ReadLabelledOrDiagnosticsAsync(new StreamReader(new MemoryStream(Encoding.UTF8.GetBytes(stderr))), labelled: true);
        return output;
    }

    [Fact]
    public async Task Each_task_gets_its_own_output_exit_code_and_final_newline_exactly()
    {
        // As srun --label writes it: tasks interleaved, padded labels past 9 tasks, the exit frame after a newline.
        var stdout =
            $" 0: {Token} S n1 42.3\n" +
            $"10: {Token} S n11 42.3\n" +
            " 0: hello\n" +
            "10: no newline at the end\n" +
            " 0: \n" +
            $" 0: {Token} X 0\n" +
            $"10: {Token} X 7\n";
        var stderr =
            "10: an error line\n" +
            $"10: {Token} X 7\n" +
            $" 0: \n 0: {Token} X 0\n" +
            "srun: error: n11: task 10: Exited with exit code 7\n";
        var output = await ParseAsync(stdout, stderr);

        var first = output.ResultFor("n1", Run(output));
        Assert.Equal(ExecutionOutcome.Exited, first.Outcome);
        Assert.Equal(0, first.ExitCode);
        Assert.Equal("hello\n", first.Stdout);
        Assert.Equal("", first.Stderr);

        var eleventh = output.ResultFor("n11", Run(output));
        Assert.Equal(7, eleventh.ExitCode);
        Assert.Equal("no newline at the end", eleventh.Stdout);
        Assert.Equal("an error line", eleventh.Stderr);
        Assert.Equal(["42.3"], output.StepIds);
    }

    [Fact]
    public async Task A_task_that_never_started_is_unreachable_with_sruns_reason()
    {
        var output = await ParseAsync("", "srun: error: Unable to create step for job 42: Job/step already completing or completed\n");
        var r = output.ResultFor("n2", Run(output));
        Assert.Equal(ExecutionOutcome.ConnectionFailed, r.Outcome);
        Assert.Equal(ErrorKind.HostUnreachable, r.FailureKind);
        Assert.Contains("Unable to create step for job 42", r.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_task_that_started_but_never_exited_lost_its_connection()
    {
        var output = await ParseAsync($"0: {Token} S n3 42.1\n0: partial\n", "0: slurmstepd-n3: error: *** STEP 42.1 ON n3 CANCELLED ***\nsrun: error: n3: task 0: Killed\n");
        var r = output.ResultFor("n3", Run(output));
        Assert.Equal(ExecutionOutcome.ConnectionLost, r.Outcome);
        Assert.Equal("partial", r.Stdout);
        Assert.Contains("CANCELLED", r.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_exit_reported_after_the_stop_is_the_stop()
    {
        var output = new SlurmStepOutput(Token, 1 << 20);
        await output.ReadLabelledAsync(new MemoryStream(Encoding.UTF8.GetBytes($"0: {Token} S n1 42.5\n")), SlurmStepOutput.Stream.Stdout);
        output.Stopping();
        await output.ReadLabelledAsync(new MemoryStream(Encoding.UTF8.GetBytes($"0: {Token} X 143\n")), SlurmStepOutput.Stream.Stdout);
        Assert.Equal(ExecutionOutcome.TimedOut, output.ResultFor("n1", Run(output, ExecutionOutcome.TimedOut)).Outcome);
    }

    [Fact]
    public async Task Output_past_the_limit_is_cut_and_flagged()
    {
        var lines = string.Concat(Enumerable.Range(0, 100).Select(i => $"0: line {i}\n"));
        var output = await ParseAsync($"0: {Token} S n1 42.0\n{lines}0: {Token} X 0\n", "", limit: 64);
        var r = output.ResultFor("n1", Run(output));
        Assert.True(r.OutputTruncated);
        Assert.True(Encoding.UTF8.GetByteCount(r.Stdout) <= 64);
        Assert.StartsWith("line 0\nline 1\n", r.Stdout, StringComparison.Ordinal);
    }
}
