using System.Diagnostics;
using Provisioning.LoaderProbe;

// Usage:
//   check <module folder> [--allow-stub <part>]...
//       Loads the module through its own load contexts and runs every ModuleChecks part. Prints one
//       PASS/FAIL/STUB line per part. Exit 0 only when every part passes (a STUB part passes only when allowed:
//       the caller allows it when the same engine call is still a stub in its own process).
//   write-journal <module folder> <db> <runs> <steps> [--crash] [--wait-for <file>]
//       Writes <runs> runs of <steps> steps each, steps recorded from parallel workers like hosts finishing.
//       With --crash: one run, and the process kills itself (SIGKILL) once the steps are in the database.
//       With --wait-for: prints "ready" once loaded, then starts writing when <file> exists (so that several
//       writers really overlap).
if (args.Length < 2) return Usage();
try
{
    return args[0] switch
    {
        "check" => Check(args[1], args.Skip(2).ToArray()),
        "write-journal" when args.Length >= 5 => await WriteJournal(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), args.Contains("--crash"),
            args.SkipWhile(a => a != "--wait-for").Skip(1).FirstOrDefault()),
        _ => Usage(),
    };
}
catch (Exception e)
{
    Console.Error.WriteLine($"FAIL probe: {e}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: check <module> [--allow-stub part]... | write-journal <module> <db> <runs> <steps> [--crash] [--wait-for file]");
    return 64;
}

static int Check(string moduleFolder, string[] options)
{
    var allowedStubs = options.Zip(options.Skip(1)).Where(p => p.First == "--allow-stub").Select(p => p.Second).ToHashSet();
    LoadedModule module;
    try
    {
        module = LoadedModule.Load(moduleFolder);
    }
    catch (Exception e)
    {
        Console.WriteLine($"FAIL load: {e}");
        return 1;
    }

    var failures = 0;
    foreach (var (part, check) in new ModuleChecks(module).All())
    {
        try
        {
            Console.WriteLine($"PASS {part}: {check()}");
        }
        catch (NotImplementedException e)
        {
            var allowed = allowedStubs.Contains(part);
            if (!allowed) failures++;
            Console.WriteLine($"STUB {part}: not implemented in this build{(allowed ? " (allowed)" : "")}: {e.TargetSite?.DeclaringType?.Name}.{e.TargetSite?.Name}");
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"FAIL {part}: {e}");
        }
    }
    Console.WriteLine(failures == 0 ? "ALL PASSED" : $"{failures} PART(S) FAILED");
    return failures == 0 ? 0 : 1;
}

static async Task<int> WriteJournal(string moduleFolder, string db, int runs, int steps, bool crash, string? waitFor)
{
    var module = LoadedModule.Load(moduleFolder);
    using var journal = ReflectedJournal.Open(module, db);
    if (waitFor is not null)
    {
        Console.WriteLine("ready");
        Console.Out.Flush();
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(waitFor))
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException($"{waitFor} never appeared");
            await Task.Delay(2);
        }
    }
    for (var r = 0; r < (crash ? 1 : runs); r++)
    {
        var recorder = journal.BeginRun("Invoke-RemoteCommand",
            new Dictionary<string, object?> { ["Command"] = "hostname", ["Writer"] = Environment.ProcessId }, "probe", steps);
        Parallel.For(0, steps, i => recorder.RecordStep(new Dictionary<string, object?>
        {
            ["Name"] = $"node{i}",
            ["Address"] = $"127.0.1.{i % 250 + 1}",
            ["Step"] = "command",
            ["Detail"] = "hostname",
            ["ExitCode"] = 0,
            ["Stdout"] = $"node{i}\n",
            ["StartTime"] = DateTimeOffset.Now,
            ["Duration"] = TimeSpan.FromMilliseconds(i),
            ["Status"] = "Succeeded",
        }));
        if (crash)
        {
            Console.WriteLine($"run {recorder.RunId}");
            var deadline = Stopwatch.StartNew();
            while (journal.GetSteps(recorder.RunId).Count < steps)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException("steps never reached the journal");
                await Task.Delay(10);
            }
            Console.WriteLine("recorded");
            Console.Out.Flush();
            // No CompleteAsync, no Dispose, no finally blocks: what a killed pwsh leaves behind.
            Process.GetCurrentProcess().Kill();
        }
        await recorder.CompleteAsync("Succeeded");
        await recorder.DisposeAsync();
    }
    Console.WriteLine("done");
    return 0;
}
